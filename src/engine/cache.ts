// The build cache: the seed's CI_cache.Make(B), with its database in a results repository.
import type { Builder, FinishedNeed } from './builder';
import { DataKitError } from '../shared/errors';
import { Emitter, type Event } from '../shared/events';
import { CANCELLED_MESSAGE, parseResultMessage } from '../shared/resultCommit';
import type { EntryReader, EntrySnapshot } from '../shared/results';
import type { BuildCacheOptions, EntryLocks, Logger, ResultStore, StatusChange } from './contracts';

export type { BuildCacheOptions, EntryLocks, Logger, ResultStore, StatusChange } from './contracts';
import { Entries, type Entry } from './entries';
import { Attempt, isCancelled, messageOf } from './attempt';
import type { LiveLog, LogManager } from './liveLog';
import type { CacheMetrics } from './metrics';
import { awaitNeeds, type NeedsHost } from './needs';
import type { Pool } from './pool';
import { EMPTY, failure, type RebuildOutcome, type Saved, type Status } from './status';

const silent: Logger = { info: () => {}, error: () => {} };

/**
 * A result that a build must not reuse: a cancelled build, or one skipped because of a need, is retried
 * by the next lookup (its commit stays); a replay would hide that the need now passes. An interrupted one
 * (never committed) is retried too: its failure was not its key's.
 */
function isRetried<V>(s: Status<V>): boolean {
  return s.result.kind === 'failure' && s.result.reason !== 'failed';
}

export class BuildCache<K, V, C = unknown> implements NeedsHost<K, V, C> {
  private readonly entries: Entries<V>;
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
    this.entries = new Entries(Math.max(1, options.maxEntries ?? 10_000));
  }

  /** How many entries are in memory (for tests and benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  private entry(branch: string): Entry<V> {
    return this.entries.entry(branch);
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
      let head: EntrySnapshot | undefined;
      try {
        head = await this.store.head(this.builder.name, branch);
      } catch (err) {
        // Unreadable for now (a ref being rewritten, a transient error): not a move; the next change reads again.
        this.logger.error(`Could not read ${this.store.refName(this.builder.name, branch)} again: ${messageOf(err)}`);
        return;
      }
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
        const reason = parseResultMessage(await snap.message()).reason ?? 'failed';
        return { result: failure(reason, message), output: { kind: 'saved', saved: saved(true) } };
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
      const status: Status<V> = { result: failure('failed', messageOf(err)), output: EMPTY };
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
      (status) => publish(status, status.output.kind === 'empty'),
      (err) => {
        this.logger.error(`Uncaught exception in build of ${name}/${branch}: ${messageOf(err)}`);
        this.metrics?.buildExceptions.inc({ name });
        publish({ result: failure('failed', messageOf(err)), output: EMPTY }, true);
      });
    return e.value!;
  }

  /**
   * Runs `generate` and commits its result. A rejection here is an error outside `generate`. A build that
   * runs holds its pool slot until its result is committed and published (`publish`): the builds that were
   * waiting for it are then ready, and compete for the slot by priority.
   */
  private async build(ctx: C, key: K, branch: string, title: string, log: LiveLog, abort: AbortController, publish: (status: Status<V>, uncommitted?: boolean) => void): Promise<Status<V>> {
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
      const attempt = new Attempt<V>(this.store.begin(name, branch), title, log, abort, {
        trailers: this.builder.trailers?.(key) ?? {},
        metrics: this.metrics, name,
        saved: (commit, failed) => this.saved(key, title, commit, branch, failed, true),
        publish,
      });
      let needs: Map<string, FinishedNeed<V>>;
      let prepared: Promise<unknown> | undefined;
      try {
        prepared = this.prepare(key, log, abort);
        needs = await awaitNeeds(this, ctx, key, log, abort.signal);
      } catch (err) {
        await this.abandon(prepared);
        return await attempt.save(attempt.fail(err));
      }
      attempt.queue();
      const run = (): Promise<Status<V>> => attempt.run(() => this.generate(ctx, key, log, attempt, abort, needs, prepared));
      if (!this.pool) { return await run(); }
      try {
        return await this.pool.use(log, abort.signal, run, () => this.builder.priority?.(key) ?? 0, this.builder.order?.(key) ?? 0);
      } catch (err) {
        if (!DataKitError.is(err, 'Cancelled')) { throw err; }
        await this.abandon(prepared);
        return await attempt.save(attempt.fail(err)); // cancelled while it waited for a slot
      }
    } finally {
      endTimer?.();
      this.metrics?.buildsInProgress.dec({ name });
      await lock?.release();
    }
  }

  /** Readies what a build that needs others can ready while it waits for them; its failure is generate's to report. */
  private prepare(key: K, log: LiveLog, abort: AbortController): Promise<unknown> | undefined {
    if ((this.builder.needs?.(key) ?? []).length === 0 || !this.builder.prepare) { return undefined; }
    const prepared = this.builder.prepare(key, log, abort.signal);
    prepared.catch(() => undefined); // observed here so that it is never unhandled; generate awaits it and reports
    return prepared;
  }

  /** What a build reads of a result it needs. */
  reader(saved: Saved): EntryReader | undefined {
    return this.store.snapshot?.(saved.commit, saved.ref);
  }

  /** Frees what `prepare` readied for a `generate` that will not run. */
  private async abandon(prepared: Promise<unknown> | undefined): Promise<void> {
    if (prepared) { await this.builder.abandon?.(prepared); }
  }

  /** Runs the builder's generate through the attempt's transaction; a cancel wins over what it returned. */
  private async generate(ctx: C, key: K, log: LiveLog, attempt: Attempt<V>, abort: AbortController, needs: ReadonlyMap<string, FinishedNeed<V>>, prepared: Promise<unknown> | undefined): Promise<V> {
    if (abort.signal.aborted) {
      await this.abandon(prepared);
      throw new DataKitError('Cancelled', CANCELLED_MESSAGE);
    }
    let value: V;
    try {
      value = await this.builder.generate({ ctx, key, log, tx: attempt.jobTx, signal: abort.signal, needs, ...(prepared ? { prepared } : {}) });
    } finally {
      // The seed turns the build's switch off when generate ends, releasing what hangs on it.
      if (!abort.signal.aborted) { abort.abort(new DataKitError('Finished', 'Build finished')); }
    }
    // A build cancelled while it ran is a cancelled build, even if generate ignored the signal.
    if (isCancelled(abort)) { throw new DataKitError('Cancelled', CANCELLED_MESSAGE); }
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
    e.abort.abort(new DataKitError('Cancelled', CANCELLED_MESSAGE));
    return true;
  }


  /** Cancels every pending build and resolves once each has saved its `Cancelled` failure. */
  async cancelAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      if (e.abort && e.done) {
        if (!e.abort.signal.aborted) { e.abort.abort(new DataKitError('Cancelled', CANCELLED_MESSAGE)); }
        pending.push(e.done);
      }
    }
    await Promise.all(pending);
  }

  dispose(): void {
    for (const e of this.entries.values()) { e.abort?.abort(new DataKitError('Cancelled', CANCELLED_MESSAGE)); }
    this._onDidChange.dispose();
  }
}
