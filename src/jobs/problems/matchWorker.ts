// The worker_threads entry that matches a log's problems off the caller's thread (see matchInWorker.ts): it
// gets the log as UTF-8 bytes (transferred, not copied), the job's matcher spec and the options, and answers
// each request with the result or the error (matchInWorker.ts keeps an idle worker for the next call).
// Bundled alone as dist/matchWorker.js; compiled next to its caller in out/.
import { parentPort } from 'node:worker_threads';
import { DataKitError } from '../../shared/errors';
import { matchLog } from './matchLog';
import { resolveMatcher } from './problemMatchers';
import type { WorkerAnswer, WorkerRequest } from './matchInWorker';

parentPort?.on('message', (request: WorkerRequest) => {
  let answer: WorkerAnswer;
  try {
    const text = new TextDecoder().decode(request.bytes);
    answer = { ok: true, result: matchLog(text, resolveMatcher(request.spec), request.options) };
  } catch (e) {
    answer = { ok: false, code: DataKitError.is(e) ? e.code : undefined, message: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(answer);
});
