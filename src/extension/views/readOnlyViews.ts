// Documents the extension generates (Show Metrics, a commit's .datakit-ci.json) as read-only views: a content
// provider of their own, so that closing one never asks to save an `Untitled` document.
import * as vscode from 'vscode';

export const VIEW_SCHEME = 'datakit-ci-view';
/** How many generated documents are kept for the editor to read back. */
const KEEP = 20;

export class ReadOnlyViews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly _onDidChange = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this._onDidChange.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? 'This view is gone: run its command again.';
  }

  /** Shows `text` under `title` (one view per title, its content replaced when shown again). */
  async show(title: string, text: string, language: string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: VIEW_SCHEME, path: `/${title}` });
    const key = uri.toString();
    const known = this.texts.has(key);
    this.texts.delete(key);
    this.texts.set(key, text);
    while (this.texts.size > KEEP) { this.texts.delete(this.texts.keys().next().value!); }
    if (known) { this._onDidChange.fire(uri); }
    const doc = await vscode.languages.setTextDocumentLanguage(await vscode.workspace.openTextDocument(uri), language);
    return vscode.window.showTextDocument(doc, { preview: true });
  }

  dispose(): void {
    this._onDidChange.dispose();
  }
}
