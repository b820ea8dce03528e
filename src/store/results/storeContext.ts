// What the parts of a GitStore (sharing, retention, history) share: the results repository's directory, its
// objects and refs, where entries live, and the one way they run git — which a store opened to start no
// process refuses.
import type { GitResult, RunGitOptions } from '../git/git';
import type { ObjectStore } from '../git/objects';
import type { Refs } from '../git/refLock';
import type { EntryInfo } from '../../shared/results';
import type { ResultTrust } from './trust';

export interface StoreContext {
  /** The results repository (a bare git directory). */
  readonly dir: string;
  /** Where entry branches live (`refs/heads/` by default). */
  readonly refPrefix: string;
  readonly objects: ObjectStore;
  readonly refs: Refs;
  /** false: the store starts no process (see GitStoreOptions.processes). */
  readonly processes: boolean;
  /** Which fetched results may be adopted (see trust.ts); none: every one. */
  readonly trust?: ResultTrust;
  /** Told of what the store repaired or could not use by itself. */
  readonly onWarning?: (message: string) => void;
  /** The branch of an entry; throws `InvalidRefName` for a name git would refuse. */
  refName(builder: string, entry: string): string;
  /** Every entry (of one builder, if given; whose name starts with `under`, if given), sorted by ref. */
  listEntries(builder?: string, under?: string): Promise<EntryInfo[]>;
  /**
   * Runs git on the results repository (`--git-dir`, in it); `Untrusted`, with nothing started, when the
   * store was opened to start no process. `doing` says what for, in that error.
   */
  git(doing: string, args: readonly string[], options?: Omit<RunGitOptions, 'cwd'>): Promise<GitResult>;
  /** Throws `Untrusted` when the store was opened to start no process; `doing` says what needed one. */
  checkProcesses(doing: string): void;
}
