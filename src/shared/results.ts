// The results repository's contract, shared by the build cache (src/engine), which uses it, and the store
// (src/store), which implements it.
import type { FailureReason } from './resultCommit';

/** A file's git mode in an entry's tree: a plain file, an executable, or a symbolic link (its target as data). */
export type FileMode = '100644' | '100755' | '120000';

/** A saved entry, as a builder's `load` reads it back. */
export interface EntryReader {
  /** The commit of the results repository that holds this entry's state. */
  readonly commit: string;
  /** The bytes of a file of the entry's tree (e.g. `value/out.txt`); rejects with code `NotFound` if absent. */
  readFile(path: string): Promise<Uint8Array>;
  exists(path: string): Promise<boolean>;
  /** Every file path of the entry's tree, sorted (e.g. `key.json`, `log`, `value/dist/a.js`). */
  paths(): Promise<string[]>;
  /** Every file with its git mode (`100644`, `100755`, `120000` for a symbolic link), sorted by path. */
  files(): Promise<{ path: string; mode: string }[]>;
}

/** A saved state of one entry: a commit on `refs/heads/<builder>/<entry>` of the results repository. */
export interface EntrySnapshot extends EntryReader {
  readonly ref: string;
  readonly commit: string;
  /** The commit's message (see resultCommit.ts). */
  message(): Promise<string>;
  /** The entry's paths at this commit, e.g. `['failure', 'key.json', 'log', 'value/a.txt']`, sorted. */
  paths(): Promise<string[]>;
  /**
   * Reads back the commit, its trees and every file (log, failure, values) and checks each against its
   * object id; rejects with `ObjectMissing` or `CorruptObject`, naming the object and the repository.
   */
  verify(): Promise<void>;
}

/** Stages an entry's next tree in memory and commits it at the end; nothing is written to refs before. */
export interface StoreTransaction {
  readonly ref: string;
  /** Removes a file, or a whole directory such as `value` (no error if absent). */
  remove(path: string): void;
  /** Stages a file (a blob is written to the object store now; the tree and commit at `commit`). */
  writeFile(path: string, data: Uint8Array | string, mode?: FileMode): Promise<void>;
  /**
   * Writes the tree and a commit whose parent is the entry's head, then moves the ref with a
   * compare-and-swap under git's lock protocol; on a lost race it re-applies the staged changes on
   * the new head and retries (bounded). Returns the new commit id.
   */
  commit(message: string): Promise<string>;
}

export interface HistoryItem {
  readonly commit: string;
  /** The commit message's subject (its first line). */
  readonly message: string;
  /** The message's trailers (`Job`, `Source-Commit`, `Run-Time-Ms`…), by name. */
  readonly trailers: Readonly<Record<string, string>>;
  /** `rebuild` for a "Marked for rebuild" commit, which is not a build. */
  readonly result: 'success' | 'failure' | 'rebuild';
  /** A failure's reason, and its message (the subject's first line of it). */
  readonly reason?: FailureReason;
  readonly failure?: string;
  /** Commit time, ms since the epoch. */
  readonly time: number;
  /** Author time: when the build started (whole seconds). */
  readonly started: number;
}

export interface SavedRef {
  readonly commit: string;
}

/** One entry of the results repository, as `listEntries` finds it. */
export interface EntryInfo {
  readonly builder: string;
  readonly entry: string;
  readonly ref: string;
  readonly commit: string;
}

/** When a saved result's build started (its commit's author time) and finished (committer time), ms since the epoch. */
export interface CommitTimes {
  readonly started: number;
  readonly finished: number;
  /** How long the build's own work ran (its process), when recorded; ms. */
  readonly runMs?: number;
  /** How long it waited for a build slot, when recorded; ms. */
  readonly queuedMs?: number;
  /** Who built it (`user@host (os-arch)`), when recorded. */
  readonly builtBy?: string;
}
