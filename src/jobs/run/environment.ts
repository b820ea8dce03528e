// The environment a job starts with: the caller's, without what would point git (or a tool) at the user's
// repository or at the editor's own process, plus the variables that say which build this is.
//
// Run from a git hook, git exports GIT_DIR and GIT_INDEX_FILE (a linked worktree's, even); run from the
// extension host, ELECTRON_RUN_AS_NODE makes every Electron app a plain Node and VSCODE_* name the editor's
// pipes. A job that inherited them could tag, commit or reset the user's repository.

/** Removed by name. */
const REMOVED = new Set([
  // Where git finds the repository, its work tree, index and objects.
  'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX', 'GIT_CEILING_DIRECTORIES', 'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_QUARANTINE_PATH', 'GIT_EXEC_PATH', 'GIT_REFLOG_ACTION',
  // Configuration passed down by the git command that ran the hook (`git -c …`), or a config file forced on it.
  'GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT',
  // Node's test runner marks its child processes with it: a job's own `node --test` would then run nothing.
  'NODE_TEST_CONTEXT',
]);

/** Removed by prefix: `git -c` pairs, the editor's and Electron's variables, and an outer build's own. */
const REMOVED_PREFIXES = ['GIT_CONFIG_KEY_', 'GIT_CONFIG_VALUE_', 'ELECTRON_', 'VSCODE_', 'DATAKIT_CI'];

export interface BuildIdentity {
  readonly job: string;
  readonly commit: string;
  /** The key's digest. */
  readonly key: string;
  /** A value unique to this run, found again in its processes' environments (see src/jobs/platform) to kill what the job left behind. */
  readonly run: string;
  /** The directory above the checkout: git run by the job must not find a repository above it. */
  readonly ceiling: string;
}

/** Whether `name` is removed from what a job inherits. */
export function isRemovedVariable(name: string): boolean {
  const upper = process.platform === 'win32' ? name.toUpperCase() : name;
  return REMOVED.has(upper) || REMOVED_PREFIXES.some((p) => upper.startsWith(p));
}

/**
 * The job's environment: `inherited` without the removed variables, then `CI=true`, then the job's own
 * `env` (which may override `CI`), then DataKit CI's variables, which nothing overrides.
 */
export function jobEnvironment(inherited: NodeJS.ProcessEnv, own: Readonly<Record<string, string>>, id: BuildIdentity): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) {
    if (value !== undefined && !isRemovedVariable(name)) { env[name] = value; }
  }
  Object.assign(env, { CI: 'true' }, own);
  return Object.assign(env, {
    GIT_CEILING_DIRECTORIES: id.ceiling,
    DATAKIT_CI: '1',
    DATAKIT_CI_JOB: id.job,
    DATAKIT_CI_COMMIT: id.commit,
    DATAKIT_CI_KEY: id.key,
    DATAKIT_CI_RUN: id.run,
  });
}

/** The variable that marks every process of one run (see process.ts). */
export const RUN_VARIABLE = 'DATAKIT_CI_RUN';
