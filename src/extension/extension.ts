import * as vscode from 'vscode';
import { VERSION } from '../engine/version';

/** What `activate` returns to other extensions. */
export interface DataKitCiApi {
  readonly version: string;
}

class EmptyBuilds implements vscode.TreeDataProvider<never> {
  getTreeItem(element: never): vscode.TreeItem { return element; }
  getChildren(): never[] { return []; }
}

export function activate(context: vscode.ExtensionContext): DataKitCiApi {
  context.subscriptions.push(vscode.window.registerTreeDataProvider('datakitCi.builds', new EmptyBuilds()));
  return { version: VERSION };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
