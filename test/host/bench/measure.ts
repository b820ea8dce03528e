// What the benchmark files share: figures printed as `BENCH <name> <json>` (collected by
// bench/extension.bench.mjs), statistics, and reaching the running extension through its API.
import * as assert from 'assert';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { DataKitCiApi } from '../../../src/extension/extension';
import type { JobView } from '../../../src/extension/session/session';

export const ID = 'datakit-ci.datakit-ci';

export function report(name: string, figures: Record<string, unknown>): void {
  console.log(`BENCH ${name} ${JSON.stringify(figures)}`);
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** The p-th percentile (0–100) of `xs`, nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function summary(xs: readonly number[]): { n: number; median: number; p90: number; min: number; max: number } {
  return { n: xs.length, median: round(percentile(xs, 50)), p90: round(percentile(xs, 90)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns a truthy value; fails with `what` after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 20, ms = 60_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) { return v; }
    if (performance.now() > end) { throw new Error(`timed out waiting for ${what}`); }
    await sleep(everyMs);
  }
}

export async function api(): Promise<DataKitCiApi> {
  const ext = vscode.extensions.getExtension<DataKitCiApi>(ID);
  assert.ok(ext, `extension ${ID} is not loaded`);
  return ext.activate();
}

/** A job of the HEAD target, read from the session's model (no tree walk: cheap enough to poll). */
export function headJob(a: DataKitCiApi, name: string): { session: DataKitCiApi['internals']['sessions']['all'][number]; job: JobView } | undefined {
  const session = a.internals.sessions.all[0];
  const job = session?.head?.jobs.find((j) => j.key.job.name === name);
  return session && job ? { session, job } : undefined;
}

/** The argument the tree passes to the job commands. */
export function jobArg(a: DataKitCiApi, name: string): { kind: 'job'; session: unknown; target: unknown; job: JobView } {
  const found = headJob(a, name);
  assert.ok(found, `job ${name} is in the HEAD target`);
  return { kind: 'job', session: found.session, target: found.session.head, job: found.job };
}

/** Rebuilds a job of HEAD through the Rebuild command; resolves once the job runs. */
export async function rebuildAndWaitPending(a: DataKitCiApi, name: string): Promise<void> {
  const before = headJob(a, name)?.job.status;
  assert.ok(before && before.result.kind !== 'pending', `${name} is not running yet`);
  await vscode.commands.executeCommand('datakitCi.rebuild', jobArg(a, name));
  await until(`${name} to run`, () => headJob(a, name)?.job.status?.result.kind === 'pending');
}

export async function waitFinished(a: DataKitCiApi, name: string, everyMs = 100, ms = 120_000): Promise<string> {
  return until(`${name} to finish`, () => {
    const kind = headJob(a, name)?.job.status?.result.kind;
    return kind !== undefined && kind !== 'pending' && kind;
  }, everyMs, ms);
}
