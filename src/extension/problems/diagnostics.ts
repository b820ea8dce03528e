// Configuration errors of .datakit-ci.json in the Problems panel, at their positions, and the warnings of
// HEAD's keys (an input that matches nothing), placed where the same input is written in the file as it is.
// One diagnostic per mistake: while the file is open, VS Code's JSON service reports its syntax errors and
// repeated keys itself (and validates against a schema without rules: schemas/datakit-ci.editor.schema.json),
// so those are left to it then; for a file that is not open, every error is here.
import * as vscode from 'vscode';
import { CONFIG_FILE, parseConfig } from '../../jobs/config/config';
import type { InputWarning } from '../../jobs/keys/key';
import { MAX_CONFIG_BYTES } from '../../jobs/repoJobs';
import { readRegularText } from '../../shared/regularFile';

export class ConfigDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('datakit-ci');
  private readonly disposables: vscode.Disposable[] = [this.collection];
  /** By the configuration file's URI: what HEAD's keys say about its inputs. */
  private readonly warnings = new Map<string, readonly InputWarning[]>();

  constructor() {
    const check = (doc: vscode.TextDocument): void => { if (this.isConfig(doc.uri)) { this.check(doc.uri, doc.getText(), true); } };
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument(check),
      vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
      vscode.workspace.onDidSaveTextDocument(check),
      // Closed, it is no longer checked by the JSON service: every error is reported here again.
      vscode.workspace.onDidCloseTextDocument((doc) => { if (this.isConfig(doc.uri)) { void this.checkFile(doc.uri); } }),
    );
    for (const doc of vscode.workspace.textDocuments) { check(doc); }
  }

  private isConfig(uri: vscode.Uri): boolean {
    return uri.scheme === 'file' && uri.path.endsWith(`/${CONFIG_FILE}`);
  }

  /** Checks the files of the workspace folders (on disk) once, e.g. at activation. */
  async checkWorkspace(): Promise<void> {
    await Promise.all((vscode.workspace.workspaceFolders ?? []).map((f) => this.checkFile(vscode.Uri.joinPath(f.uri, CONFIG_FILE))));
  }

  private async checkFile(uri: vscode.Uri): Promise<void> {
    try {
      // Read as a regular file only (never a link to /dev/zero or a FIFO, which the editor's reader would follow).
      const text = uri.scheme === 'file' ? await readRegularText(uri.fsPath, { maxBytes: MAX_CONFIG_BYTES, name: CONFIG_FILE })
        : Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      if (text === undefined) { this.collection.delete(uri); return; }
      if (!this.openDocument(uri)) { this.check(uri, text, false); }
    } catch {
      this.collection.delete(uri);
    }
  }

  private openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString() && !d.isClosed);
  }

  /** HEAD's input warnings for the configuration file at `uri` (an empty list clears them). */
  setInputWarnings(uri: vscode.Uri, warnings: readonly InputWarning[]): void {
    const key = uri.toString();
    if (JSON.stringify(this.warnings.get(key) ?? []) === JSON.stringify(warnings)) { return; }
    this.warnings.set(key, warnings);
    const doc = this.openDocument(uri);
    if (doc) {
      this.check(uri, doc.getText(), true);
    } else {
      void this.checkFile(uri);
    }
  }

  /** `open`: the file is open in an editor, where the JSON service reports syntax errors and repeated keys. */
  check(uri: vscode.Uri, text: string, open: boolean): vscode.Diagnostic[] {
    const result = parseConfig(text);
    const diag = (offset: number, length: number, message: string, severity: vscode.DiagnosticSeverity): vscode.Diagnostic => {
      const d = new vscode.Diagnostic(new vscode.Range(offsetToPosition(text, offset), offsetToPosition(text, offset + Math.max(1, length))), message, severity);
      d.source = 'DataKit CI';
      return d;
    };
    const diags = result.ok ? [] : result.errors
      .filter((e) => !(open && (e.origin === 'syntax' || e.origin === 'duplicate')))
      .map((e) => diag(e.offset, e.length, e.message, vscode.DiagnosticSeverity.Error));
    if (result.ok) {
      // Where the same input is written in the file as it is now (it may have been edited since HEAD).
      for (const w of this.warnings.get(uri.toString()) ?? []) {
        const p = result.config.positions[w.job]?.inputs[w.index];
        if (p && text.slice(p.offset, p.offset + p.length) === JSON.stringify(w.pattern)) {
          diags.push(diag(p.offset, p.length, w.message, vscode.DiagnosticSeverity.Warning));
        }
      }
    }
    this.collection.set(uri, diags);
    return diags;
  }

  dispose(): void {
    for (const d of this.disposables) { d.dispose(); }
  }
}

function offsetToPosition(text: string, offset: number): vscode.Position {
  const before = text.slice(0, Math.min(offset, text.length));
  const lines = before.split('\n');
  return new vscode.Position(lines.length - 1, lines[lines.length - 1].length);
}
