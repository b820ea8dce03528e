// The builder contract: the seed's CI_s.BUILDER.
import { DataKitError } from '../shared/errors';
import type { EntryReader, FileMode } from '../shared/results';
import type { LiveLog } from './liveLog';

export type { EntryReader };

/** What `generate` writes through: the entry's new tree, staged in memory until the build ends. */
export interface Transaction {
  /** `path` is under `value/`, or is `key.json`; `mode` (default `100644`) marks executables and symbolic links. */
  writeFile(path: string, data: Uint8Array | string, mode?: FileMode): Promise<void>;
}

/** A job this one needs, as it finished: always a success (a failed need skips the build). */
export interface FinishedNeed<V> {
  readonly value: V;
  /** Its saved result, to read what it saved; undefined if it was never saved. */
  readonly saved?: EntryReader;
}

export interface BuildJob<K, C, V = unknown> {
  readonly ctx: C;
  readonly key: K;
  readonly log: LiveLog;
  readonly tx: Transaction;
  /** Aborts when the build is cancelled (the seed's switch); `generate` must then stop. */
  readonly signal: AbortSignal;
  /**
   * The jobs it needs (see `Builder.needs`) and, before each, what that one needed in turn, by name, each
   * finished with success: what a job needed is in its checkout when a job that needs it runs, as it is in
   * a working tree where they all ran, one after another.
   */
  readonly needs: ReadonlyMap<string, FinishedNeed<V>>;
  /** What `Builder.prepare` readied while the build waited for its needs, if it did. */
  readonly prepared?: Promise<unknown>;
}

export interface Builder<K, V, C = unknown> {
  /** Names the builder: the first part of every branch it owns (`refs/heads/<name>/<entry>`). */
  readonly name: string;
  title(key: K): string;
  /** The entry's name: the rest of its branch. */
  branch(key: K): string;
  generate(job: BuildJob<K, C, V>): Promise<V>;
  load(entry: EntryReader, key: K): Promise<V>;
  /**
   * Keys that must be built, and succeed, before this one (a task graph, without cycles). The build waits
   * for them outside the build pool; if one fails, this build is skipped with the failure "Skipped: …".
   */
  needs?(key: K): { name: string; key: K }[];
  /**
   * When builds queue for the pool, a free slot goes to the one of highest priority first (the oldest among
   * equals): for a task graph, how many builds wait for this one, one after another, so that the longest
   * chain starts first. 0 when absent. Read again while the build waits, when the pool is told priorities
   * changed (Pool.reprioritize).
   */
  priority?(key: K): number;
  /** Among builds of equal priority, the lower `order` starts first (a configuration's declaration order). */
  order?(key: K): number;
  /**
   * What a build that needs others can ready while it waits for them (a checkout, say): started with the
   * build, outside the pool, and handed to `generate` as `job.prepared`. When `generate` will not run (a
   * need failed, the build was cancelled), `abandon` gets it to free what it holds.
   */
  prepare?(key: K, log: LiveLog, signal: AbortSignal): Promise<unknown>;
  /**
   * Trailers for the commit message of the key's results (`Job: lint`, `Source-Commit: …`): what a
   * history across keys reads without opening each result.
   */
  trailers?(key: K): Record<string, string>;
  abandon?(prepared: Promise<unknown>): Promise<void>;
}

/**
 * Thrown by `generate` to fail a build with a message (the seed's `Failure msg`): a DataKitError of code
 * `BuildFailure`, kept as a class of its own for builders of other extensions (`new BuildFailure(msg)`).
 */
export class BuildFailure extends DataKitError {
  constructor(message: string, data: Readonly<Record<string, unknown>> = {}) {
    super('BuildFailure', message, data);
    this.name = 'BuildFailure';
  }
}
