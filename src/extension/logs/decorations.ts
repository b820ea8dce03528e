// ANSI colours of saved logs drawn as editor decorations: the document holds the stripped text.
import * as vscode from 'vscode';
import { Emitter, type Event } from '../../shared/events';
import type { AnsiStyle } from '../../shared/ansi';
import { LOG_SCHEME, type LogDocumentProvider } from './logDocuments';

/** What was drawn in one editor: the ranges of each style. */
export interface LogDecorationsApplied {
  readonly uri: string;
  readonly styles: { style: AnsiStyle; ranges: vscode.Range[] }[];
  /** 0-based lines drawn as errors. */
  readonly errorLines: number[];
}


function colour(c: string): string | vscode.ThemeColor {
  return c.startsWith('#') ? c : new vscode.ThemeColor(c);
}

export class LogDecorator implements vscode.Disposable {
  // One decoration type per distinct style, shared by every editor and kept until disposal.
  private readonly types = new Map<string, vscode.TextEditorDecorationType>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly errorLines = vscode.window.createTextEditorDecorationType({
    color: new vscode.ThemeColor('errorForeground'),
    fontWeight: 'bold',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.errorForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
    isWholeLine: true,
  });
  private readonly _onDidDecorate = new Emitter<LogDecorationsApplied>();
  /** Fired after the colours of a log were applied to an editor. */
  readonly onDidDecorate: Event<LogDecorationsApplied> = this._onDidDecorate.event;

  constructor(private readonly documents: LogDocumentProvider) {
    // An editor loses its decorations when it is hidden: draw again whenever it becomes visible.
    this.subscriptions.push(vscode.window.onDidChangeVisibleTextEditors((editors) => { void this.decorate(editors); }));
    void this.decorate(vscode.window.visibleTextEditors);
  }

  async decorate(editors: readonly vscode.TextEditor[]): Promise<void> {
    await Promise.all(editors.filter((e) => e.document.uri.scheme === LOG_SCHEME).map((e) => this.decorateOne(e)));
  }

  private async decorateOne(editor: vscode.TextEditor): Promise<void> {
    let looks;
    try {
      looks = await this.documents.styles(editor.document.uri);
    } catch {
      return; // Not a readable log: the editor already shows the error.
    }
    const { styles, errorLines } = looks;
    const applied: LogDecorationsApplied['styles'] = [];
    for (const [key, { style, ranges }] of styles) {
      editor.setDecorations(this.typeOf(key, style), ranges);
      applied.push({ style, ranges });
    }
    // `Failed:` and error lines stand out (in the error colour, bold), whatever the job printed them in.
    editor.setDecorations(this.errorLines, errorLines);
    this._onDidDecorate.fire({ uri: editor.document.uri.toString(), styles: applied, errorLines: errorLines.map((r) => r.start.line) });
  }

  private typeOf(key: string, style: AnsiStyle): vscode.TextEditorDecorationType {
    let type = this.types.get(key);
    if (type === undefined) {
      type = vscode.window.createTextEditorDecorationType({
        color: style.fg === undefined ? undefined : colour(style.fg),
        backgroundColor: style.bg === undefined ? undefined : colour(style.bg),
        fontWeight: style.bold ? 'bold' : undefined,
        fontStyle: style.italic ? 'italic' : undefined,
        textDecoration: style.underline ? 'underline' : undefined,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
      this.types.set(key, type);
    }
    return type;
  }

  dispose(): void {
    for (const d of this.subscriptions) { d.dispose(); }
    for (const t of this.types.values()) { t.dispose(); }
    this.errorLines.dispose();
    this.types.clear();
    this._onDidDecorate.dispose();
  }
}
