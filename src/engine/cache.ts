// The build cache: the seed's CI_cache.Make(B), with its database in a results repository.
import os = require('node:os');
import { VERSION } from './version';
import { Mutex } from 'async-mutex';
import { BuildFailure, type Builder, type FinishedNeed, type Transaction } from './builder';
import { DataKitError } from '../shared/errors';
import { Emitter, type Event } from '../shared/events';
import type { LiveLog, LogManager } from './liveLog';
import type { CacheMetrics } from './metrics';
import type { Pool } from './pool';
import { EMPTY, type RebuildOutcome, type Result, type Saved, type Status } from './status';
import type { EntryReader, EntrySnapshot, StoreTransaction } from '../shared/results';

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

interface Entry<V> {
  readonly lock: Mutex;
  value?: Status<V>;
  /** The key its value was set for (what a reload reports the change with). */
  key?: unknown;
  /** Set while a build is pending. */
  abort?: AbortController;
  /** Resolves once the pending build has saved its result (or failed outside `generate`). */
  done?: Promise<void>;
  /** A failure that was never committed (an error outside `generate`): rebuilding just forgets it. */
  uncommitted?: boolean;
}

/** The failure message of a cancelled build (a result like any other, saved with its log). */
export const CANCELLED = 'Cancelled';
const silent: Logger = { info: () => {}, error: () => {} };

function isCancelled(abort: AbortController): boolean {
  return abort.signal.aborted && DataKitError.is(abort.signal.reason, 'Cancelled');
}

/** A duration as a result's subject says it: `0.4 s`, `12 s`, `3 min 4 s`. */
export function runDuration(ms: number): string {
  if (ms < 10_000) { return `${(ms / 1000).toFixed(1)} s`; }
  if (ms < 60_000) { return `${Math.round(ms / 1000)} s`; }
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The trailers of a result's commit message that the engine writes (a builder may add its own). */
export const RUN_TIME = 'Run-Time-Ms';
export const QUEUE_TIME = 'Queue-Time-Ms';
export const BUILT_BY = 'Built-By';

let machineName: string | undefined;

/** Who built a result: `user@host (linux-x64)`. */
export function machine(): string {
  if (machineName === undefined) {
    let user = process.env.USER ?? process.env.USERNAME ?? '';
    try { user = os.userInfo().username; } catch { /* no passwd entry (a container): the environment's */ }
    const ci = ciProvider(process.env);
    machineName = `${user || 'unknown'}@${os.hostname()} (${process.platform}-${process.arch}, datakit-ci ${VERSION}${ci ? `, ${ci}` : ''})`;
  }
  return machineName;
}

/** The CI service a build runs on, when the environment says so (`CI` set, and the service's own variable). */
export function ciProvider(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.CI || env.CI === 'false' || env.CI === '0') { return undefined; }
  if (env.GITHUB_ACTIONS) { return 'GitHub Actions'; }
  if (env.GITLAB_CI) { return 'GitLab CI'; }
  if (env.BUILDKITE) { return 'Buildkite'; }
  if (env.CIRCLECI) { return 'CircleCI'; }
  if (env.JENKINS_URL) { return 'Jenkins'; }
  if (env.TF_BUILD) { return 'Azure Pipelines'; }
  return 'CI';
}

/**
 * A result's commit message: a subject that says what happened (`lint @ 3babc64: failed after 12 s: Command
 * exited with code 1`), so that `git log` of the results repository reads like a CI history, then trailers
 * with what the views show: how long the build's own work ran, how long it waited for a slot, and the
 * builder's own (the job, the source commit).
 */
export function resultMessage<V>(title: string, result: Result<V>, timing: { runMs?: number; queuedMs?: number }, trailers: Readonly<Record<string, string>>): string {
  const took = timing.runMs === undefined ? '' : ` ${result.kind === 'success' ? 'in' : 'after'} ${runDuration(timing.runMs)}`;
  let subject: string;
  if (result.kind === 'success') {
    subject = `${title}: passed${took}`;
  } else if (result.kind === 'failure' && result.message === CANCELLED) {
    subject = `${title}: cancelled${took}`;
  } else {
    subject = `${title}: failed${took}: ${result.kind === 'failure' ? result.message.split('\n')[0] : ''}`;
  }
  const lines = Object.entries(trailers).map(([k, v]) => `${k}: ${v.replace(/\n/g, ' ')}`);
  if (timing.runMs !== undefined) { lines.push(`${RUN_TIME}: ${Math.round(timing.runMs)}`); }
  if (timing.queuedMs !== undefined) { lines.push(`${QUEUE_TIME}: ${Math.round(timing.queuedMs)}`); }
  return lines.length > 0 ? `${subject}\n\n${lines.join('\n')}\n` : `${subject}\n`;
}

/** A build skipped because a job it needs did not succeed says so in its failure, with this prefix. */
export const SKIPPED = 'Skipped: ';

/**
 * A result that a build must not reuse: a cancelled build, or one skipped because of a need, is retried
 * by the next lookup (its commit stays); a replay would hide that the need now passes.
 */
function isRetried<V>(s: Status<V>): boolean {
  return s.result.kind === 'failure' && (s.result.message === CANCELLED || s.result.message.startsWith(SKIPPED));
}

function messageOf(e: unknown): string {
  if (e instanceof Error) { return e.message || e.name; }
  return String(e);
}

export class BuildCache<K, V, C = unknown> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly store: ResultStore;
  private readonly logs: LogManager;
  private readonly metrics?: CacheMetrics;
  private readonly pool?: Pool;
  private readonly locks?: EntryLocks;
  private readonly logger: Logger;
  private readonly _onDidChange = new Emitter<StatusChange<K, V>>();
  /** Fires on every change of an entry's status. */
  readonly onDidChange: Event<StatusChange<K, V>> = this._onDidChange.event;

  constructor(readonly builder: Builder<K, V, C>, options: BuildCacheOptions) {
    this.store = options.store;
    this.logs = options.logs;
    this.metrics = options.metrics;
    this.pool = options.pool;
    this.locks = options.locks;
    this.logger = options.logger ?? silent;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  private readonly maxEntries: number;

  /** How many entries are in memory (for tests and benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  private entry(branch: string): Entry<V> {
    let e = this.entries.get(branch);
    if (e) {
      // Most recently used last: a Map keeps insertion order.
      this.entries.delete(branch);
      this.entries.set(branch, e);
      return e;
    }
    e = { lock: new Mutex() };
    this.entries.set(branch, e);
    if (this.entries.size > this.maxEntries) { this.evict(branch); }
    return e;
  }

  /** Drops the least recently used settled entries (never `keep`, a pending or a locked one) down to the bound. */
  private evict(keep: string): void {
    for (const [b, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) { return; }
      if (b === keep || e.abort || e.done || e.lock.isLocked() || e.value?.result.kind === 'pending') { continue; }
      this.entries.delete(b);
    }
  }

  /**
   * Another process saved (or marked) the entry: a settled value in memory that is not the entry's saved
   * head any more is read again from the store, and the change told to listeners. A pending build of this
   * process, or an entry not in memory, is left alone (its next query reads the store).
   */
  async reload(branch: string): Promise<void> {
    const e = this.entries.get(branch);
    if (!e || !e.value || e.key === undefined || e.value.result.kind === 'pending' || e.lock.isLocked()) { return; }
    const key = e.key as K;
    await e.lock.runExclusive(async () => {
      const head = await this.store.head(this.builder.name, branch).catch(() => undefined);
      const mine = e.value?.output.kind === 'saved' ? e.value.output.saved.commit : undefined;
      if (e.value?.result.kind === 'pending' || (head?.commit ?? undefined) === mine) { return; }
      const loaded = await this.loadFromStore(key, branch);
      this.logger.info(`Another process ${loaded ? 'saved' : 'marked or removed'} ${this.store.refName(this.builder.name, branch)}: read again`);
      this.set(key, branch, e, loaded);
    });
  }

  /** The status in memory, without touching the store or starting anything. */
  peek(key: K): Status<V> | undefined {
    return this.entries.get(this.builder.branch(key))?.value;
  }

  /** The status from memory or the store, never starting a build (for read-only views). */
  async query(key: K): Promise<Status<V> | undefined> {
    const branch = this.builder.branch(key);
    const e = this.entry(branch);
    if (e.value && !e.lock.isLocked()) { return e.value; }
    return e.lock.runExclusive(() => this.find(key, branch, e));
  }

  /** Memory, then the store (remembering what it finds); the entry's lock must be held. */
  private async find(key: K, branch: string, e: Entry<V>): Promise<Status<V> | undefined> {
    if (e.value) { return e.value; }
    const loaded = await this.loadFromStore(key, branch);
    if (loaded) {
      this.logger.info(`Loaded cached result from ${this.store.refName(this.builder.name, branch)}`);
      this.set(key, branch, e, loaded);
    }
    return loaded;
  }

  /**
   * The seed's `lookup`: memory, then the store, then a build. The per-key lock is held only while the
   * entry is looked up or its pending status inserted; the pending status is in place before this returns.
   */
  async lookup(ctx: C, key: K): Promise<Status<V>> {
    const branch = this.builder.branch(key);
    const e = this.entry(branch);
    // Fast path: a value in memory needs no lock (the lock only orders loading and inserting).
    if (e.value && !e.lock.isLocked() && !isRetried(e.value)) { return e.value; }
    return e.lock.runExclusive(async () => {
      const found = await this.find(key, branch, e);
      return found && !isRetried(found) ? found : this.startBuild(ctx, key, branch, e);
    });
  }

  /**
   * Previously saved results, or undefined: none, marked for rebuild, or unreadable — a missing or corrupt
   * commit, tree, log, failure or value file (logged, naming the entry and the object; rebuilt).
   */
  private async loadFromStore(key: K, branch: string): Promise<Status<V> | undefined> {
    let snap: EntrySnapshot | undefined;
    try {
      snap = await this.store.head(this.builder.name, branch);
      if (!snap) { return undefined; }
      // A result is used only if everything it saved can be read back: a truncated log must not pass.
      await snap.verify();
      if (await snap.exists('rebuild-requested')) { return undefined; }
      const title = this.builder.title(key);
      const saved = (failed: boolean): Saved => this.saved(key, title, snap!.commit, branch, failed, false);
      if (await snap.exists('failure')) {
        const message = Buffer.from(await snap.readFile('failure')).toString('utf8');
        return { result: { kind: 'failure', message }, output: { kind: 'saved', saved: saved(true) } };
      }
      const value = await this.builder.load(snap, key);
      return { result: { kind: 'success', value }, output: { kind: 'saved', saved: saved(false) } };
    } catch (err) {
      const where = snap ? `${snap.ref || this.store.refName(this.builder.name, branch)} (commit ${snap.commit})` : this.store.refName(this.builder.name, branch);
      this.logger.error(`The saved result ${where} cannot be used, so it will be built again: ${messageOf(err)}`);
      return undefined;
    }
  }

  private saved(key: K, title: string, commit: string, branch: string, failed: boolean, built: boolean): Saved {
    return {
      title, commit, failed, built,
      ref: this.store.refName(this.builder.name, branch),
      rebuild: () => this.markForRebuild(key),
    };
  }

  private set(key: K, branch: string, e: Entry<V>, status: Status<V> | undefined): void {
    e.value = status;
    e.key = key;
    this._onDidChange.fire({ key, branch, status });
  }

  /** Inserts the pending entry and starts the build; must be called with the entry's lock held. */
  private startBuild(ctx: C, key: K, branch: string, e: Entry<V>): Status<V> {
    const name = this.builder.name;
    this.metrics?.buildsStarted.inc({ name });
    const title = this.builder.title(key);
    let log: LiveLog;
    try {
      // The seed's first pending reason is the builder's title.
      log = this.logs.create(`${name}/${branch}`, title, { pending: title });
    } catch (err) {
      // The seed's key-collision guard: nothing may be committed for a colliding entry.
      this.metrics?.buildExceptions.inc({ name });
      e.uncommitted = true;
      const status: Status<V> = { result: { kind: 'failure', message: messageOf(err) }, output: EMPTY };
      this.set(key, branch, e, status);
      return status;
    }
    const abort = new AbortController();
    e.abort = abort;
    e.uncommitted = false;
    log.heading(title);
    log.log('Starting...');

    // Keep the pending status in step with the log's pending reason; each status's `changed` resolves
    // only after the next status is in place.
    let wake = (): void => {};
    const setPending = (): void => {
      const previous = wake;
      let resolve!: () => void;
      const changed = new Promise<void>((r) => { resolve = r; });
      wake = resolve;
      this.set(key, branch, e, { result: { kind: 'pending', reason: log.pendingReason(), changed }, output: { kind: 'live', log } });
      previous();
    };
    setPending();
    const watch = log.onDidChangePending(() => { if (e.abort === abort) { setPending(); } });
    const finish = (status: Status<V>, uncommitted = false): void => {
      watch.dispose();
      log.finish();
      e.abort = undefined;
      e.done = undefined;
      e.uncommitted = uncommitted;
      this.set(key, branch, e, status);
      wake();
    };
    let finished = false;
    const publish = (status: Status<V>, uncommitted = false): void => {
      if (finished) { return; }
      finished = true;
      finish(status, uncommitted);
    };
    e.done = this.build(ctx, key, branch, title, log, abort, publish).then(
      (status) => publish(status),
      (err) => {
        this.logger.error(`Uncaught exception in build of ${name}/${branch}: ${messageOf(err)}`);
        this.metrics?.buildExceptions.inc({ name });
        publish({ result: { kind: 'failure', message: messageOf(err) }, output: EMPTY }, true);
      });
    return e.value!;
  }

  /**
   * Runs `generate` and commits its result. A rejection here is an error outside `generate`. A build that
   * runs holds its pool slot until its result is committed and published (`publish`): the builds that were
   * waiting for it are then ready, and compete for the slot by priority.
   */
  private async build(ctx: C, key: K, branch: string, title: string, log: LiveLog, abort: AbortController, publish: (status: Status<V>) => void): Promise<Status<V>> {
    const name = this.builder.name;
    const lock = await this.takeEntryLock(key, branch, log, abort);
    if (lock && 'loaded' in lock) { return lock.loaded; }
    this.metrics?.buildsInProgress.inc({ name });
    const endTimer = this.metrics?.buildTime.startTimer({ name });
    try {
      // Found before the job runs, not when its result cannot be saved.
      const recovered = this.store.recoverLocks?.(name, branch);
      if (recovered) {
        log.log(recovered);
        this.logger.error(recovered);
      }
      const tx = this.store.begin(name, branch);
      tx.remove('rebuild-requested');
      tx.remove('value');
      tx.remove('failure');
      const fail = (err: unknown): Result<V> => {
        const message = isCancelled(abort) ? CANCELLED : messageOf(err);
        log.log(`Failed: ${message}`);
        this.metrics?.buildsFailed.inc({ name });
        return { kind: 'failure', message };
      };
      let queuedMs: number | undefined;
      const save = async (result: Result<V>): Promise<Status<V>> => {
        if (result.kind === 'failure') { await tx.writeFile('failure', result.message); }
        await tx.writeFile('log', log.contents());
        const message = resultMessage(title, result, { runMs: log.run?.ms, queuedMs }, { ...this.builder.trailers?.(key), [BUILT_BY]: machine() });
        const commit = await tx.commit(message);
        const status: Status<V> = { result, output: { kind: 'saved', saved: this.saved(key, title, commit, branch, result.kind === 'failure', true) } };
        publish(status);
        return status;
      };
      let needs: Map<string, FinishedNeed<V>>;
      let prepared: Promise<unknown> | undefined;
      try {
        if ((this.builder.needs?.(key) ?? []).length > 0 && this.builder.prepare) {
          // Readied while the needs build; its failure is generate's to report.
          prepared = this.builder.prepare(key, log, abort.signal);
          prepared.catch(() => undefined);
        }
        needs = await this.awaitNeeds(ctx, key, log, abort);
      } catch (err) {
        await this.abandon(prepared);
        return await save(fail(err));
      }
      const queuedAt = process.hrtime.bigint();
      const run = async (): Promise<Status<V>> => {
        queuedMs = Number(process.hrtime.bigint() - queuedAt) / 1e6;
        let result: Result<V>;
        try {
          const value = await this.generate(ctx, key, log, tx, abort, needs, prepared);
          log.log('Success');
          this.metrics?.buildsSucceeded.inc({ name });
          result = { kind: 'success', value };
        } catch (err) {
          result = fail(err);
        }
        return save(result);
      };
      if (!this.pool) { return await run(); }
      try {
        return await this.pool.use(log, abort.signal, run, this.builder.priority?.(key) ?? 0, this.builder.order?.(key) ?? 0);
      } catch (err) {
        if (!DataKitError.is(err, 'Cancelled')) { throw err; }
        await this.abandon(prepared);
        return await save(fail(err)); // cancelled while it waited for a slot
      }
    } finally {
      endTimer?.();
      this.metrics?.buildsInProgress.dec({ name });
      await lock?.release();
    }
  }

  /**
   * Builds (or finds) what the key needs, one after another, outside the pool (a build holding a slot while
   * it waits could starve what it waits for); a need that does not succeed skips this build. Then what each
   * need needed, which finished before it: in the map before it, dependencies first.
   */
  private async awaitNeeds(ctx: C, key: K, log: LiveLog, abort: AbortController): Promise<Map<string, FinishedNeed<V>>> {
    const needs = new Map<string, FinishedNeed<V>>();
    const visit = async (need: { name: string; key: K }, neededBy: string | undefined): Promise<void> => {
      if (needs.has(need.name)) { return; }
      const s = neededBy === undefined
        ? await log.withPendingReason(`Waiting for ${need.name}`, () => this.untilFinal(ctx, need.key, abort.signal))
        : await this.untilFinal(ctx, need.key, abort.signal);
      if (s.result.kind !== 'success') {
        const state = s.result.kind === 'failure' && s.result.message === CANCELLED ? 'cancelled'
          : s.result.kind === 'failure' && s.result.message.startsWith(SKIPPED) ? 'skipped' : 'failed';
        throw new BuildFailure(`${SKIPPED}needs ${need.name} (${state})${neededBy === undefined ? '' : `, through ${neededBy}`}`);
      }
      for (const inner of this.builder.needs?.(need.key) ?? []) { await visit(inner, need.name); }
      const saved = s.output.kind === 'saved' ? this.store.snapshot?.(s.output.saved.commit, s.output.saved.ref) : undefined;
      needs.set(need.name, { value: s.result.value, ...(saved ? { saved } : {}) });
      log.log(`${need.name} passed${s.output.kind === 'saved' ? ` (${s.output.saved.commit.slice(0, 12)})` : ''}${neededBy === undefined ? '' : `, needed by ${neededBy}`}`);
    };
    for (const need of this.builder.needs?.(key) ?? []) { await visit(need, undefined); }
    return needs;
  }

  /** The key's final status: looked up (built if missing), then followed until it is no longer pending. */
  private async untilFinal(ctx: C, key: K, signal: AbortSignal): Promise<Status<V>> {
    let s = await this.lookup(ctx, key);
    while (s.result.kind === 'pending') {
      if (signal.aborted) { throw new DataKitError('Cancelled', CANCELLED); }
      const changed = s.result.changed;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(new DataKitError('Cancelled', CANCELLED));
        signal.addEventListener('abort', onAbort, { once: true });
        void changed.then(() => { signal.removeEventListener('abort', onAbort); resolve(); });
      });
      s = this.peek(key) ?? await this.lookup(ctx, key);
    }
    return s;
  }

  /** Frees what `prepare` readied for a `generate` that will not run. */
  private async abandon(prepared: Promise<unknown> | undefined): Promise<void> {
    if (prepared) { await this.builder.abandon?.(prepared); }
  }

  private async generate(ctx: C, key: K, log: LiveLog, tx: StoreTransaction, abort: AbortController, needs: ReadonlyMap<string, FinishedNeed<V>>, prepared: Promise<unknown> | undefined): Promise<V> {
    const jobTx: Transaction = {
      writeFile: (path, data, mode) => {
        if (!(path.startsWith('value/') && path.length > 'value/'.length) && path !== 'key.json') {
          return Promise.reject(new DataKitError('InvalidPath', `A build may write only under value/ or key.json, not "${path}"`));
        }
        return tx.writeFile(path, data, mode);
      },
    };
    const run = async (): Promise<V> => {
      if (abort.signal.aborted) {
        await this.abandon(prepared);
        throw new DataKitError('Cancelled', CANCELLED);
      }
      try {
        return await this.builder.generate({ ctx, key, log, tx: jobTx, signal: abort.signal, needs, ...(prepared ? { prepared } : {}) });
      } finally {
        // The seed turns the build's switch off when generate ends, releasing what hangs on it.
        if (!abort.signal.aborted) { abort.abort(new DataKitError('Finished', 'Build finished')); }
      }
    };
    const value = await run();
    // A build cancelled while it ran is a cancelled build, even if generate ignored the signal.
    if (isCancelled(abort)) { throw new DataKitError('Cancelled', CANCELLED); }
    return value;
  }

  /**
   * Across processes: while another live process builds this entry, wait (pending "Building in another
   * process (pid N)") and then load its result. Returns the lock to release, or the loaded result.
   */
  private async takeEntryLock(key: K, branch: string, log: LiveLog, abort: AbortController):
    Promise<{ release(): Promise<void> } | { loaded: Status<V> } | undefined> {
    if (!this.locks) { return undefined; }
    const id = `${this.builder.name}/${branch}`;
    for (;;) {
      const got = await this.locks.tryAcquire(id);
      if ('release' in got) {
        // Another process may have saved the result while we waited for the lock.
        const loaded = await this.loadFromStore(key, branch);
        if (loaded && !isRetried(loaded)) {
          await got.release();
          return { loaded };
        }
        return got;
      }
      await log.withPendingReason(`Building in another process (pid ${got.holder})`, () => this.locks!.waitUntilFree(id, abort.signal));
      const loaded = await this.loadFromStore(key, branch);
      if (loaded && !isRetried(loaded)) { return { loaded }; }
    }
  }

  /**
   * The seed's `mark_for_rebuild`: ignored while a build is pending; otherwise commits an empty
   * `rebuild-requested` and forgets the entry, so that the next lookup builds it again.
   */
  async markForRebuild(key: K): Promise<RebuildOutcome> {
    const branch = this.builder.branch(key);
    const e = this.entry(branch);
    return e.lock.runExclusive(async () => {
      if (e.value?.result.kind === 'pending') { return 'pending'; }
      if (e.uncommitted) {
        e.uncommitted = false;
        this.set(key, branch, e, undefined);
        return 'forgotten';
      }
      const commit = await this.store.markForRebuild(this.builder.name, branch);
      this.set(key, branch, e, undefined);
      return commit ? 'marked' : 'not-built';
    });
  }

  /** Aborts a pending build; it is saved as the failure "Cancelled". Returns false if nothing was pending. */
  cancel(key: K): boolean {
    const e = this.entries.get(this.builder.branch(key));
    if (!e?.abort || e.abort.signal.aborted) { return false; }
    e.abort.abort(new DataKitError('Cancelled', CANCELLED));
    return true;
  }


  /** Cancels every pending build and resolves once each has saved its `Cancelled` failure. */
  async cancelAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (e.abort && e.done) {
        if (!e.abort.signal.aborted) { e.abort.abort(new DataKitError('Cancelled', CANCELLED)); }
        pending.push(e.done);
      }
    }
    await Promise.all(pending);
  }

  dispose(): void {
    for (const e of this.entries.values()) { e.abort?.abort(new DataKitError('Cancelled', CANCELLED)); }
    this._onDidChange.dispose();
  }
}
