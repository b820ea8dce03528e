// Configuration errors of .datakit-ci.json in the Problems panel, at their positions.
import * as vscode from 'vscode';
import { CONFIG_FILE, parseConfig } from '../jobs/config';

export class ConfigDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('datakit-ci');
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor() {
    const check = (doc: vscode.TextDocument): void => { if (this.isConfig(doc.uri)) { this.check(doc.uri, doc.getText()); } };
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument(check),
      vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
      vscode.workspace.onDidSaveTextDocument(check),
    );
    for (const doc of vscode.workspace.textDocuments) { check(doc); }
  }

  private isConfig(uri: vscode.Uri): boolean {
    return uri.scheme === 'file' && uri.path.endsWith(`/${CONFIG_FILE}`);
  }

  /** Checks the files of the workspace folders (on disk) once, e.g. at activation. */
  async checkWorkspace(): Promise<void> {
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      const uri = vscode.Uri.joinPath(f.uri, CONFIG_FILE);
      try {
        const bytes = await vscode.workspace.fs.readFile(uri);
        if (!vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) {
          this.check(uri, Buffer.from(bytes).toString('utf8'));
        }
      } catch {
        this.collection.delete(uri);
      }
    }
  }

  check(uri: vscode.Uri, text: string): vscode.Diagnostic[] {
    const result = parseConfig(text);
    const diags = result.ok ? [] : result.errors.map((e) => {
      const start = new vscode.Position(e.line - 1, e.column - 1);
      const end = offsetToPosition(text, e.offset + Math.max(1, e.length));
      const d = new vscode.Diagnostic(new vscode.Range(start, end), e.message, vscode.DiagnosticSeverity.Error);
      d.source = 'DataKit CI';
      return d;
    });
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
