// What the build cache needs of the world around it: a results repository (the store implements it), locks
// that keep two processes from building one key at once (the jobs layer implements them), and a logger.
import type { EntryReader, EntrySnapshot, StoreTransaction } from '../shared/results';
import type { LogManager } from './liveLog';
import type { CacheMetrics } from './metrics';
import type { Pool } from './pool';
import type { Status } from './status';

/** What the cache needs of the results repository (GitStore implements it). */
export interface ResultStore {
  head(builder: string, entry: string): Promise<EntrySnapshot | undefined>;
  begin(builder: string, entry: string): StoreTransaction;
  markForRebuild(builder: string, entry: string): Promise<string | undefined>;
  refName(builder: string, entry: string): string;
  /** A saved result by its commit (for a build to read what a job it needs saved). */
  snapshot?(commit: string, ref?: string): EntryReader;
  /** Clears what a crashed writer left that would stop this entry's result from being saved; says what it did. */
  recoverLocks?(builder: string, entry: string): string | undefined;
}

/** Locks that keep two processes from building one key at once (see jobs/entryLocks). */
export interface EntryLocks {
  /** Takes the entry's lock, or says which live process holds it. */
  tryAcquire(entryId: string): Promise<{ release(): Promise<void> } | { holder: number }>;
  /** Resolves once the lock is free (or its holder died), or rejects when `signal` aborts. */
  waitUntilFree(entryId: string, signal: AbortSignal): Promise<void>;
}

export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export interface BuildCacheOptions {
  store: ResultStore;
  logs: LogManager;
  metrics?: CacheMetrics;
  pool?: Pool;
  locks?: EntryLocks;
  logger?: Logger;
  /**
   * How many entries memory holds at most (default 10,000): past it, the least recently used settled ones
   * are dropped, with their mutexes (the store still has them). A pending build is never dropped.
   */
  maxEntries?: number;
}

export interface StatusChange<K, V> {
  readonly key: K;
  readonly branch: string;
  /** undefined once an entry is forgotten (marked for rebuild): the next lookup decides. */
  readonly status: Status<V> | undefined;
}
