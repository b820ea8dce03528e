// The cache's memory: one entry per key (by branch), its status, its per-key lock and its pending build; the
// least recently used settled entries are dropped past a bound (the store still has them).
import { Mutex } from 'async-mutex';
import type { Status } from './status';

export interface Entry<V> {
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

export class Entries<V> {
  private readonly map = new Map<string, Entry<V>>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The entry of a branch if memory holds it, without making it the most recently used. */
  get(branch: string): Entry<V> | undefined {
    return this.map.get(branch);
  }

  values(): IterableIterator<Entry<V>> {
    return this.map.values();
  }

  /** The entry of a branch, made if new, now the most recently used. */
  entry(branch: string): Entry<V> {
    let e = this.map.get(branch);
    if (e) {
      // Most recently used last: a Map keeps insertion order.
      this.map.delete(branch);
      this.map.set(branch, e);
      return e;
    }
    e = { lock: new Mutex() };
    this.map.set(branch, e);
    if (this.map.size > this.max) { this.evict(branch); }
    return e;
  }

  /** Drops the least recently used settled entries (never `keep`, a pending or a locked one) down to the bound. */
  private evict(keep: string): void {
    for (const [b, e] of this.map) {
      if (this.map.size <= this.max) { return; }
      if (b === keep || e.abort || e.done || e.lock.isLocked() || e.value?.result.kind === 'pending') { continue; }
      this.map.delete(b);
    }
  }
}
