// Matching a 16 MiB log takes a good part of a second: it runs in a worker thread, so that the extension host's
// event loop (every extension's) stays free. One worker per call, ended when it answers or when the caller
// aborts; the log crosses as UTF-8 bytes whose buffer is transferred.
import path = require('node:path');
import { Worker } from 'node:worker_threads';
import { DataKitError, type ErrorCode } from '../shared/errors';
import type { MatchOptions, MatchResult } from './matchLog';
import { resolveMatcher, type MatcherSpec } from './problemMatchers';

/** Next to this code both in out/src/jobs (compiled) and in dist/ (bundled: esbuild.mjs makes dist/matchWorker.js). */
export const MATCH_WORKER_FILE = path.join(__dirname, 'matchWorker.js');

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
export function matchLogInWorker(text: string, spec: MatcherSpec | undefined, options: MatchOptions = {}, signal?: AbortSignal): Promise<MatchResult> {
  return matchWithWorkerFile(MATCH_WORKER_FILE, text, spec, options, signal);
}

/** The same with a given worker file (the tests run dist/matchWorker.js through it). */
export function matchWithWorkerFile(file: string, text: string, spec: MatcherSpec | undefined, options: MatchOptions, signal?: AbortSignal): Promise<MatchResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    resolveMatcher(spec); // throws for a bad spec, here rather than in the worker
    const bytes = new TextEncoder().encode(text);
    const worker = new Worker(file);
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) { return; }
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = (): void => settle(() => reject(cancelled()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (answer: WorkerAnswer) => settle(() => {
      if (answer.ok) {
        resolve(answer.result);
      } else {
        reject(new DataKitError(answer.code ?? 'MatchFailed', answer.message));
      }
    }));
    worker.once('error', (e) => settle(() => reject(new DataKitError('MatchFailed', `Matching the log's problems failed: ${e.message}`))));
    worker.once('exit', (code) => settle(() => reject(new DataKitError('MatchFailed', `The worker matching the log's problems stopped (exit code ${code}) before answering`))));
    const request: WorkerRequest = { bytes, spec, options };
    worker.postMessage(request, [bytes.buffer as ArrayBuffer]);
  });
}

function cancelled(): DataKitError {
  return new DataKitError('Cancelled', 'Matching the log\'s problems was cancelled');
}
