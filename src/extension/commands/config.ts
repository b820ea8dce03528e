// The commands of .datakit-ci.json: Create it, Save the Suggested Jobs as it, Open a Configuration Error, and
// Manage Workspace Trust.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { CONFIG_FILE, type ConfigError } from '../../jobs/config/config';
import type { Session, TargetView } from '../session/session';
import { firstConfigError, type Node } from '../tree/treeModel';
import { sessionsOf, type CommandDeps, type CommandSpec } from './pick';

export const STARTER_CONFIG = `// Jobs that DataKit CI runs for each commit. See the JSON schema for every field.
{
  "jobs": {
    "build": { "run": "npm ci && npm run build", "inputs": ["src", "package.json", "package-lock.json"], "outputs": ["dist/**"] },
    "test": { "run": "npm test", "timeout": "10m" }
  }
}
`;

/** Writes a new file, never over anything already there: a symbolic link (dangling or not) included. */
async function writeNew(file: string, text: string): Promise<boolean> {
  try {
    await fs.promises.writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') { return false; }
    throw e;
  }
}

export function configCommands(deps: CommandDeps): CommandSpec[] {
  const { sessions } = deps;
  return [
    // The jobs found in the repository when there are any, else a starter to edit.
    { id: 'datakitCi.createConfig', name: 'Create .datakit-ci.json', runs: false, run: async () => {
      const root = sessions.all[0]?.dirs.topLevel ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      if (!root) { throw new DataKitError('NoFolder', 'Open a folder first.'); }
      const uri = vscode.Uri.file(path.join(root, CONFIG_FILE));
      const suggested = sessions.all.find((s) => s.dirs.topLevel === root)?.head?.suggested;
      await writeNew(uri.fsPath, suggested?.text ?? STARTER_CONFIG);
      await vscode.window.showTextDocument(uri);
      return uri;
    } },
    { id: 'datakitCi.saveSuggestedJobs', name: 'Save Suggested Jobs', runs: false, run: async (arg?: unknown) => {
      const session = sessionsOf(deps, arg).find((s) => s.head?.suggested);
      const suggested = session?.head?.suggested;
      const top = session?.dirs.topLevel;
      if (!session || !suggested || !top) { throw new DataKitError('NothingToSuggest', 'No suggested jobs here: the repository has a .datakit-ci.json, or nothing to suggest.'); }
      const uri = vscode.Uri.file(path.join(top, CONFIG_FILE));
      if (!await writeNew(uri.fsPath, suggested.text)) { throw new DataKitError('ConfigExists', `${CONFIG_FILE} already exists: it was not overwritten.`); }
      await vscode.window.showTextDocument(uri);
      await session.refresh();
      return uri;
    } },
    { id: 'datakitCi.openConfigError', name: 'Open the Configuration Error', runs: false, run: async (arg?: unknown) => {
      const n = arg as Partial<Extract<Node, { kind: 'configError' }>> | undefined;
      const found = n?.session && n.target && n.error ? { session: n.session, target: n.target, error: n.error } : firstConfigError(sessions.all);
      if (!found) { void vscode.window.showInformationMessage('DataKit CI: .datakit-ci.json has no error.'); return undefined; }
      return openConfigAt(deps, found.session, found.target, found.error);
    } },
    { id: 'datakitCi.manageTrust', name: 'Manage Workspace Trust', runs: false, run: async () => vscode.commands.executeCommand('workbench.trust.manage') },
  ];
}

/**
 * Opens .datakit-ci.json at an error: the working copy's file when it is the one that was read (the working
 * tree's, or a commit's that the working copy still has as is, as git would hash it), else a read-only view of
 * the commit's file.
 */
async function openConfigAt(deps: CommandDeps, session: Session, target: TargetView, error: ConfigError): Promise<vscode.TextEditor> {
  const top = session.dirs.topLevel;
  const file = top ? vscode.Uri.file(path.join(top, CONFIG_FILE)) : undefined;
  const at = new vscode.Position(error.line - 1, error.column - 1);
  const selection = new vscode.Range(at, at);
  const same = target.target.worktree === true || (await session.jobs.unchangedSince(target.target.commit, [CONFIG_FILE])).has(CONFIG_FILE);
  if (same && file) { return vscode.window.showTextDocument(file, { selection, preview: false }); }
  const text = await session.jobs.configText(target.target.commit) ?? '';
  const editor = await deps.views.show(`${CONFIG_FILE} @ ${target.target.commit.slice(0, 7)}`, text, 'jsonc');
  editor.selection = new vscode.Selection(at, at);
  editor.revealRange(selection, vscode.TextEditorRevealType.InCenter);
  void vscode.window.showInformationMessage(`DataKit CI: this is .datakit-ci.json as committed at ${target.target.commit.slice(0, 7)}; your working copy differs from it.`);
  return editor;
}
