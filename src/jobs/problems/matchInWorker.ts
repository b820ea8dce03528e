// Matching a 16 MiB log takes a good part of a second: it runs in a worker thread, so that the extension host's
// event loop (every extension's) stays free. A worker answers one request at a time; the last one to finish
// is kept, idle and unreferenced, for the next call (starting one costs 20–90 ms) and ended after IDLE_MS. A
// call that is aborted or fails ends its worker. The log crosses as UTF-8 bytes whose buffer is transferred.
import path = require('node:path');
import { Worker } from 'node:worker_threads';
import { DataKitError, type ErrorCode } from '../../shared/errors';
import type { MatchOptions, MatchResult } from './matchLog';
import { resolveMatcher, type MatcherSpec } from './problemMatchers';

/** Next to this code both in out/src/jobs (compiled) and in dist/ (bundled: esbuild.mjs makes dist/matchWorker.js). */
export const MATCH_WORKER_FILE = path.join(__dirname, 'matchWorker.js');
/** How long an idle worker is kept for the next call. */
export const IDLE_MS = 10_000;

export interface WorkerRequest {
  readonly bytes: Uint8Array;
  readonly spec: MatcherSpec | undefined;
  readonly options: MatchOptions;
}

export type WorkerAnswer = { ok: true; result: MatchResult } | { ok: false; code: ErrorCode | undefined; message: string };

/**
 * `matchLog(text, resolveMatcher(spec), options)` in a worker thread. Rejects with `InvalidProblemMatcher` (before
 * starting one) for a bad spec, `Cancelled` when `signal` aborts (the worker is terminated), `MatchFailed` when the
 * worker fails.
 */
export function matchLogInWorker(text: string | Uint8Array, spec: MatcherSpec | undefined, options: MatchOptions = {}, signal?: AbortSignal): Promise<MatchResult> {
  return matchWithWorkerFile(MATCH_WORKER_FILE, text, spec, options, signal);
}

/** The idle worker kept for the next call, by file. */
const idle = new Map<string, { worker: Worker; timer: NodeJS.Timeout }>();

function takeWorker(file: string): Worker {
  const kept = idle.get(file);
  if (!kept) { return new Worker(file); }
  idle.delete(file);
  clearTimeout(kept.timer);
  kept.worker.ref();
  return kept.worker;
}

function keepWorker(file: string, worker: Worker): void {
  if (idle.has(file)) {
    void worker.terminate();
    return;
  }
  worker.unref();
  const timer = setTimeout(() => {
    if (idle.get(file)?.worker === worker) { idle.delete(file); }
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idle.set(file, { worker, timer });
}

/** The same with a given worker file (the tests run dist/matchWorker.js through it). */
export function matchWithWorkerFile(file: string, text: string | Uint8Array, spec: MatcherSpec | undefined, options: MatchOptions, signal?: AbortSignal): Promise<MatchResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    resolveMatcher(spec); // throws for a bad spec, here rather than in the worker
    // Bytes go as they are (a log read from git is never decoded on this thread); a copy is transferred, so
    // the caller's buffer stays usable.
    const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : new Uint8Array(text);
    const worker = takeWorker(file);
    const settle = (reuse: boolean, fn: () => void): void => {
      signal?.removeEventListener('abort', onAbort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (reuse) {
        keepWorker(file, worker);
      } else {
        void worker.terminate();
      }
      fn();
    };
    const onAbort = (): void => settle(false, () => reject(cancelled()));
    const onMessage = (answer: WorkerAnswer): void => settle(true, () => {
      if (answer.ok) {
        resolve(answer.result);
      } else {
        reject(new DataKitError(answer.code ?? 'MatchFailed', answer.message));
      }
    });
    const onError = (e: Error): void => settle(false, () => reject(new DataKitError('MatchFailed', `Matching the log's problems failed: ${e.message}`)));
    const onExit = (code: number): void => settle(false, () => reject(new DataKitError('MatchFailed', `The worker matching the log's problems stopped (exit code ${code}) before answering`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    const request: WorkerRequest = { bytes, spec, options };
    worker.postMessage(request, [bytes.buffer as ArrayBuffer]);
  });
}

function cancelled(): DataKitError {
  return new DataKitError('Cancelled', 'Matching the log\'s problems was cancelled');
}
