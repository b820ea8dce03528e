// Problem matchers (issue 12): a 16 MiB synthetic tsc log with 100,000 matching error lines (absolute paths
// inside a build directory, among lines that do not match) matched with `$tsc` by matchLogInWorker, against a
// plain `text.split('\n')` of the same text, side by side; and the main thread's event-loop delay while the
// worker runs (monitorEventLoopDelay), against matching on the main thread itself.
// The default matcher (issue 18), in the same rounds: (c) the same log, for a job that declares no matcher;
// (d) 16 MiB of the captured tools' logs (test/fixtures/tools/*.log, one after the other, again and again);
// (e) 16 MiB of lines of MAX_LINE characters that nearly match its formats.
// With DATAKIT_CI_BASELINE_OUT=<another build's out folder> (`npx tsc -p tsconfig.test.json` in a checkout of
// the commit to compare with), that build's matchLogInWorker runs (a), (c), (d) and (e) in the same rounds.
// Run after `npx tsc -p tsconfig.test.json`: node bench/matcher.bench.mjs [rounds]
// Budgets: matchLogInWorker ≤ 300 ms median; event-loop delay p99 ≤ 50 ms while it runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ROOT, median, mib, ms, record, requireOut, sideBySide, verdict } from './lib.mjs';

const { matchLogInWorker } = requireOut('jobs/problems/matchInWorker');
const { matchLog } = requireOut('jobs/problems/matchLog');
const { resolveMatcher } = requireOut('jobs/problems/problemMatchers');
const BASELINE_OUT = process.env.DATAKIT_CI_BASELINE_OUT;
const baseline = BASELINE_OUT ? createRequire(import.meta.url)(path.resolve(BASELINE_OUT, 'src', 'jobs', 'problems', 'matchInWorker')) : undefined;

const ROUNDS = Number(process.argv[2] ?? 10);
const SIZE = 16 * 1024 * 1024;
const ERRORS = 100_000;
const BUILD = '/home/user/.cache/datakit-ci/repo-5e1f/build/0c3a9d';

/**
 * 100,000 tsc error lines about 1,009 files (a hundred errors each, as a broken type would give), with tsc's
 * squiggle lines spread among them to fill 16 MiB.
 */
function makeLog() {
  const errors = Array.from({ length: ERRORS }, (_, i) =>
    `${BUILD}/src/module${(i % 1009) % 97}/file${i % 1009}.ts(${(i % 4000) + 1},${(i % 80) + 1}): error TS2322: Type 'string' is not assignable to type 'number'.\n`);
  const errorBytes = errors.reduce((n, l) => n + l.length, 0);
  const filler = '      ~~~~~\n';
  const fillers = Math.floor((SIZE - errorBytes) / filler.length);
  const parts = errors.map((e, i) => e + filler.repeat(Math.floor(((i + 1) * fillers) / ERRORS) - Math.floor((i * fillers) / ERRORS)));
  const text = parts.join('');
  return text + '~'.repeat(SIZE - text.length - 1) + '\n';
}

/** The captured tools' logs one after the other until 16 MiB, with the roots and files their projects had. */
function makeToolsLog() {
  const dir = path.join(ROOT, 'test', 'fixtures', 'tools');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const logs = manifest.captures.map((c) => fs.readFileSync(path.join(dir, c.file), 'utf8')).join('\n');
  const projects = Object.values(manifest.projects);
  const toolText = logs.repeat(Math.ceil(SIZE / logs.length)).slice(0, SIZE);
  return { toolText, toolOptions: { roots: projects.map((p) => p.dir), files: new Set(projects.flatMap((p) => p.files.map((f) => f.path))) } };
}

/**
 * Lines made to come near to what each format of the default matcher looks for, and miss, at MAX_LINE's 4,096
 * characters (a regular expression that backtracks without bound would show here): a code frame's blanks, a
 * path:line run, an ESLint problem line after a file line, a panic, a traceback's frame, pytest's heading, a Go
 * frame, make's directory, a compact line, a stack frame, repeated to 16 MiB.
 */
function makeNearMisses() {
  const n = 4096;
  const fill = (head, unit, tail = '') => (head + unit.repeat(Math.ceil(n / unit.length))).slice(0, n - tail.length) + tail;
  const lines = [
    fill('', ' ', '5x'), fill('', 'a:1'), `/abs/x.js\n${fill('  1:1  error  ', 'a  ')}`, fill('thread \'a\' panicked at \'', '\', a'),
    `Traceback (most recent call last):\n${fill('  File "', '", line 1x')}`, fill('___ ', '_ '), `panic: x\n${fill('\t', ':1 +0x1')}`,
    fill('make: Entering directory \'', '\''), fill('', 'x', ', col '), fill('    at ', '('), fill('', ' ', '--> a'), fill('E', ' '),
  ].join('\n') + '\n';
  return lines.repeat(Math.ceil(SIZE / lines.length)).slice(0, SIZE);
}

const text = makeLog();
const options = { roots: [BUILD] };
// For the default matcher: the files of the commit are the log's files.
const defaultOptions = { roots: [BUILD], files: new Set(Array.from({ length: 1009 }, (_, i) => `src/module${i % 97}/file${i}.ts`)) };
const { toolText, toolOptions } = makeToolsLog();
const missText = makeNearMisses();
const missOptions = { roots: ['/abs'], files: new Set(['x.js', 'a']) };
// The first call starts the worker; the next ones reuse it while it stays idle less than IDLE_MS.
const coldStart = performance.now();
const check = await matchLogInWorker(text, '$tsc', options);
const cold = performance.now() - coldStart;
assert.equal(check.total, ERRORS);
assert.equal(check.findings.length, 1000);
assert.deepEqual(check.findings[0], { file: 'src/module0/file0.ts', line: 1, column: 1, severity: 'error', message: 'Type \'string\' is not assignable to type \'number\'.', code: '2322' });

const counts = {};
const count = (name) => (r) => { counts[name] = r.total; };
const times = await sideBySide({
  worker: () => matchLogInWorker(text, '$tsc', options),
  split: () => { text.split('\n'); },
  defaultTsc: () => matchLogInWorker(text, undefined, defaultOptions).then(count('defaultTsc')),
  defaultTools: () => matchLogInWorker(toolText, undefined, toolOptions).then(count('defaultTools')),
  defaultMisses: () => matchLogInWorker(missText, undefined, missOptions).then(count('defaultMisses')),
  ...(baseline ? {
    baselineWorker: () => baseline.matchLogInWorker(text, '$tsc', options),
    baselineTsc: () => baseline.matchLogInWorker(text, undefined, defaultOptions).then(count('baselineTsc')),
    baselineTools: () => baseline.matchLogInWorker(toolText, undefined, toolOptions).then(count('baselineTools')),
    baselineMisses: () => baseline.matchLogInWorker(missText, undefined, missOptions).then(count('baselineMisses')),
  } : {}),
}, ROUNDS);
const worker = median(times.worker);
const split = median(times.split);
const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));

/** The event loop's delay p99 (ms) over `ROUNDS` runs of `fn`, each started from an idle loop. */
async function loopDelay(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  for (let r = 0; r < ROUNDS; r++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    h.enable();
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
    h.disable();
  }
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}
const delayWorker = await loopDelay(() => matchLogInWorker(text, '$tsc', options));
const matchers = resolveMatcher('$tsc');
const delayHere = await loopDelay(async () => { await new Promise((resolve) => setImmediate(resolve)); matchLog(text, matchers, options); });

console.log(`log: ${mib(SIZE)}, ${ERRORS.toLocaleString('en')} matching lines of ${(text.split('\n').length - 1).toLocaleString('en')}; ${ROUNDS} rounds, side by side`);
console.log(`(a) matchLogInWorker($tsc): ${ms(worker)} median — ${verdict(worker <= 300)} (budget ≤ 300 ms); baseline text.split('\\n') ${ms(split)} (ratio ${(worker / split).toFixed(1)}); the first call, starting the worker: ${ms(cold)}`);
if (baseline) { console.log(`    the baseline build's matchLogInWorker($tsc): ${ms(medians.baselineWorker)} median (ratio ${(worker / medians.baselineWorker).toFixed(2)})`); }
console.log(`(b) event-loop delay while it runs: p99 ${ms(delayWorker.p99)}, max ${ms(delayWorker.max)} — ${verdict(delayWorker.p99 <= 50)} (budget p99 ≤ 50 ms); matching on the main thread instead: p99 ${ms(delayHere.p99)}, max ${ms(delayHere.max)}`);
const against = (name, base) => (baseline ? `; baseline ${ms(medians[base])} with ${counts[base].toLocaleString('en')} problems (ratio ${(medians[name] / medians[base]).toFixed(2)})` : '');
console.log(`(c) the default matcher, the same log: ${ms(medians.defaultTsc)} median, ${counts.defaultTsc.toLocaleString('en')} problems${against('defaultTsc', 'baselineTsc')}`);
console.log(`(d) the default matcher, ${mib(toolText.length)} of the captured tools' logs: ${ms(medians.defaultTools)} median, ${counts.defaultTools.toLocaleString('en')} problems${against('defaultTools', 'baselineTools')}`);
console.log(`(e) the default matcher, ${mib(missText.length)} of lines of 4,096 characters that nearly match: ${ms(medians.defaultMisses)} median, ${counts.defaultMisses.toLocaleString('en')} problems${against('defaultMisses', 'baselineMisses')}`);
record('matcher', { rounds: ROUNDS, bytes: SIZE, errors: ERRORS, workerMs: worker, firstCallMs: cold, splitMs: split, delayWorkerMs: delayWorker, delayMainMs: delayHere, medians, counts, baseline: BASELINE_OUT });
