import * as os from 'os';
import * as vscode from 'vscode';

export interface Settings {
  automaticBuilds: boolean;
  /** Ask before the first automatic build of a repository never built. */
  askBeforeFirstBuild: boolean;
  targets: 'head' | 'localBranches' | 'branch';
  /** The most commits the `branch` targets show (and a build of them builds). */
  maxBranchCommits: number;
  /** Build the working tree when asked (▶ on its target), or after each save. */
  buildWorkingTree: 'manual' | 'onSave';
  /** Fetch results from origin on activation and when the window gains focus, at most this often (0: never). */
  fetchIntervalMinutes: number;
  /** `verified`: a fetched result is used only if a trusted builder signed it (when any is configured); `any`: always. */
  fetchedResults: 'verified' | 'any';
  /** Push results to origin after builds. */
  pushResults: boolean;
  /** Past this size, the results repository's old results are removed in the background. */
  maxResultsSizeMiB: number;
  maxParallelBuilds: number;
  logCapBytes: number;
  notifyOnFailure: boolean;
  metricsPort: number;
  maxOutputChannels: number;
}

/**
 * A setting that had another name (`old`): at each level, the folder's, the workspace's and the user's, its
 * value where set, else the old name's there; else its default.
 */
function renamed<T>(c: vscode.WorkspaceConfiguration, key: string, old: string, fallback: T): T {
  const now = c.inspect<T>(key);
  const was = c.inspect<T>(old);
  return now?.workspaceFolderValue ?? was?.workspaceFolderValue ?? now?.workspaceValue ?? was?.workspaceValue
    ?? now?.globalValue ?? was?.globalValue ?? now?.defaultValue ?? fallback;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('datakitCi', scope);
  // The window's settings are read without a resource (VS Code warns about each one read with one).
  const w = scope ? vscode.workspace.getConfiguration('datakitCi') : c;
  const parallel = w.get<number>('maxParallelBuilds', 0);
  return {
    automaticBuilds: c.get<boolean>('automaticBuilds', true),
    askBeforeFirstBuild: c.get<boolean>('askBeforeFirstBuild', true),
    targets: c.get<Settings['targets']>('targets', 'head'),
    maxBranchCommits: Math.max(1, renamed(c, 'maxBranchCommits', 'maxRangeCommits', 50)),
    buildWorkingTree: c.get<Settings['buildWorkingTree']>('buildWorkingTree', 'manual'),
    fetchIntervalMinutes: Math.max(0, c.get<number>('fetchIntervalMinutes', 10)),
    pushResults: c.get<boolean>('pushResults', false),
    fetchedResults: c.get<string>('fetchedResults', 'verified') === 'any' ? 'any' : 'verified',
    maxResultsSizeMiB: Math.max(1, renamed(c, 'maxResultsSize', 'maxResultsSizeMiB', 1024)),
    maxParallelBuilds: parallel > 0 ? parallel : Math.max(1, os.cpus().length),
    logCapBytes: Math.max(1, renamed(w, 'maxLogSize', 'logCapMiB', 16)) * 1024 * 1024,
    notifyOnFailure: c.get<boolean>('notifyOnFailure', true),
    metricsPort: w.get<number>('metricsPort', 0),
    maxOutputChannels: w.get<number>('maxOutputChannels', 10),
  };
}
