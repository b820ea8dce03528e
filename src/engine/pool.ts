// Bounded concurrency for builds, first in first out (the seed's CI_monitored_pool): a queued build's log
// says how many builds are ahead of it.
import os = require('node:os');
import { DataKitError } from '../shared/errors';
import type { LiveLog, PendingReason } from './liveLog';
import type { CacheMetrics } from './metrics';

interface Waiter {
  /** Read each time the queue is ordered: a waiter's priority may change while it waits (see reprioritize). */
  readonly priority: () => number;
  readonly order: number;
  /** Arrival: the oldest first among equals. */
  readonly seq: number;
  readonly log: LiveLog | undefined;
  pending: PendingReason | undefined;
  readonly start: () => void;
}

/** Milliseconds on a monotonic clock (not `performance`, whose first use loads perf_hooks: a cost of every command's start). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function seconds(since: number): number {
  return (monotonicMs() - since) / 1000;
}

/** A queued build's pending reason: `queued · next`, `queued · 2 ahead`. */
export function waitingReason(ahead: number): string {
  return ahead === 0 ? 'queued · next' : `queued · ${ahead} ahead`;
}

export class Pool {
  private readonly queue: Waiter[] = [];
  private used = 0;
  private arrivals = 0;
  private pumpScheduled = false;
  private _capacity: number;

  constructor(readonly name: string, capacity: number = Math.max(1, os.availableParallelism()), private readonly metrics?: CacheMetrics) {
    this._capacity = Pool.checkCapacity(capacity);
    this.report();
  }

  private static checkCapacity(n: number): number {
    if (!Number.isInteger(n) || n < 1) {
      throw new DataKitError('InvalidCapacity', `A pool's capacity must be a positive integer, not ${n}`);
    }
    return n;
  }

  get capacity(): number { return this._capacity; }

  /** Resizing up starts queued jobs at once; resizing down lets running jobs finish. */
  set capacity(n: number) {
    this._capacity = Pool.checkCapacity(n);
    this.schedulePump();
    this.report();
  }

  get queueLength(): number { return this.queue.length; }
  get inUse(): number { return this.used; }

  /**
   * Runs `fn` once a slot is free. Slots are given out a moment later (once what is running now has had its
   * say): a slot goes to the waiting call of highest `priority` (for a task graph, how many builds wait,
   * one after another, for this one), among equals to the lowest `order` (the configuration's declaration
   * order), then to the oldest, so that jobs that a finished build made
   * ready at once compete for its slot by priority, not by which asked first. While queued behind others,
   * `log`'s pending reason is `queued · N ahead` (see waitingReason). If `signal` aborts while queued, `fn`
   * never runs and this rejects with `Cancelled`; once `fn` runs, cancelling it is `fn`'s business. A
   * `priority` given as a function is read again whenever the queue is ordered anew (see reprioritize).
   */
  async use<T>(log: LiveLog | undefined, signal: AbortSignal | undefined, fn: () => Promise<T>, priority: number | (() => number) = 0, order = 0): Promise<T> {
    if (signal?.aborted) { throw new DataKitError('Cancelled', 'Cancelled'); }
    const queuedAt = monotonicMs();
    await this.wait(log, signal, priority, order);
    this.metrics?.poolWaitTime.observe({ name: this.name }, seconds(queuedAt));
    this.report();
    const startedAt = monotonicMs();
    try {
      return await fn();
    } finally {
      this.used--;
      this.metrics?.poolUseTime.observe({ name: this.name }, seconds(startedAt));
      this.schedulePump();
      this.report();
    }
  }

  /** Resolves once this waiter holds a slot (taken for it by `pump`, so no one can overtake it). */
  private wait(log: LiveLog | undefined, signal: AbortSignal | undefined, priority: number | (() => number), order: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) { return; }
        this.queue.splice(i, 1);
        waiter.pending?.dispose();
        this.updateReasons(i);
        this.report();
        reject(new DataKitError('Cancelled', 'Cancelled'));
      };
      const waiter: Waiter = {
        priority: typeof priority === 'function' ? priority : () => priority,
        order,
        seq: this.arrivals++,
        log,
        pending: undefined,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          waiter.pending?.dispose();
          resolve();
        },
      };
      // Behind every waiter of a higher priority, or of the same and a lower or equal order: those behind it
      // move down.
      const mine = waiter.priority();
      let at = this.queue.findIndex((w) => { const p = w.priority(); return p < mine || (p === mine && w.order > order); });
      if (at < 0) { at = this.queue.length; }
      this.queue.splice(at, 0, waiter);
      // With a free slot, the pump about to run decides; behind others, it says so at once.
      if (this.used + at >= this._capacity) { this.updateReasons(at); }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedulePump();
      this.report();
    });
  }

  /**
   * Orders the queue anew by each waiter's priority as it is now (then order, then arrival): what asked to be
   * built first may no longer be what matters first (HEAD moved on). Queued reasons follow.
   */
  reprioritize(): void {
    const ranked = this.queue.map((w) => ({ w, p: w.priority() }));
    ranked.sort((a, b) => b.p - a.p || a.w.order - b.w.order || a.w.seq - b.w.seq);
    ranked.forEach((r, i) => { this.queue[i] = r.w; });
    this.updateReasons(0);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) { return; }
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    let started = 0;
    while (this.used < this._capacity && this.queue.length > 0) {
      const waiter = this.queue.shift()!;
      this.used++;
      started++;
      waiter.start();
    }
    if (started > 0 || this.queue.some((w) => !w.pending)) { this.updateReasons(0); }
    this.report();
  }

  /** Queued entries from index `from` on have moved up. */
  private updateReasons(from: number): void {
    for (let i = from; i < this.queue.length; i++) {
      const w = this.queue[i];
      if (w.pending) { w.pending.update(waitingReason(i)); } else { w.pending = w.log?.pushPendingReason(waitingReason(i)); }
    }
  }

  private report(): void {
    if (!this.metrics) { return; }
    const labels = { name: this.name };
    this.metrics.poolQlen.set(labels, this.queue.length);
    this.metrics.poolResourcesInUse.set(labels, this.used);
    this.metrics.poolCapacity.set(labels, this._capacity);
  }
}
