// A task graph over the cache: a build waits for the keys it needs (built or found), outside the build
// pool, and is skipped when one of them does not succeed.
import { BuildFailure, type Builder, type EntryReader, type FinishedNeed } from './builder';
import { DataKitError } from '../shared/errors';
import { CANCELLED_MESSAGE, SKIPPED_PREFIX } from '../shared/resultCommit';
import type { LiveLog } from './liveLog';
import type { Saved, Status } from './status';

/** What the needs of a build are looked up in: the cache itself. */
export interface NeedsHost<K, V, C> {
  readonly builder: Builder<K, V, C>;
  lookup(ctx: C, key: K): Promise<Status<V>>;
  peek(key: K): Status<V> | undefined;
  /** A saved result's reader (what a job it needs saved), if the store can give one. */
  reader(saved: Saved): EntryReader | undefined;
}

/**
 * Builds (or finds) what the key needs, one after another, outside the pool (a build holding a slot while it
 * waits could starve what it waits for); a need that does not succeed skips this build (a BuildFailure whose
 * `data.reason` is `skipped`). Then what each need needed, which finished before it: in the map before it,
 * dependencies first.
 */
export async function awaitNeeds<K, V, C>(host: NeedsHost<K, V, C>, ctx: C, key: K, log: LiveLog, signal: AbortSignal): Promise<Map<string, FinishedNeed<V>>> {
  const needs = new Map<string, FinishedNeed<V>>();
  const visit = async (need: { name: string; key: K }, neededBy: string | undefined): Promise<void> => {
    if (needs.has(need.name)) { return; }
    const s = neededBy === undefined
      ? await log.withPendingReason(`Waiting for ${need.name}`, () => untilFinal(host, ctx, need.key, signal))
      : await untilFinal(host, ctx, need.key, signal);
    if (s.result.kind !== 'success') {
      const state = s.result.kind === 'failure' ? s.result.reason : 'failed';
      throw new BuildFailure(`${SKIPPED_PREFIX}needs ${need.name} (${state})${neededBy === undefined ? '' : `, through ${neededBy}`}`, { reason: 'skipped' });
    }
    for (const inner of host.builder.needs?.(need.key) ?? []) { await visit(inner, need.name); }
    const saved = s.output.kind === 'saved' ? host.reader(s.output.saved) : undefined;
    needs.set(need.name, { value: s.result.value, ...(saved ? { saved } : {}) });
    log.log(`${need.name} passed${s.output.kind === 'saved' ? ` (${s.output.saved.commit.slice(0, 12)})` : ''}${neededBy === undefined ? '' : `, needed by ${neededBy}`}`);
  };
  for (const need of host.builder.needs?.(key) ?? []) { await visit(need, undefined); }
  return needs;
}

/** The key's final status: looked up (built if missing), then followed until it is no longer pending. */
export async function untilFinal<K, V, C>(host: NeedsHost<K, V, C>, ctx: C, key: K, signal: AbortSignal): Promise<Status<V>> {
  let s = await host.lookup(ctx, key);
  while (s.result.kind === 'pending') {
    if (signal.aborted) { throw new DataKitError('Cancelled', CANCELLED_MESSAGE); }
    const changed = s.result.changed;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new DataKitError('Cancelled', CANCELLED_MESSAGE));
      signal.addEventListener('abort', onAbort, { once: true });
      void changed.then(() => { signal.removeEventListener('abort', onAbort); resolve(); });
    });
    s = host.peek(key) ?? await host.lookup(ctx, key);
  }
  return s;
}
