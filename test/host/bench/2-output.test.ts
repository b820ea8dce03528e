// (2) The extension host's event-loop delay while a job prints 50 MB: builds with the job's output channel
// shown (the channel follows the live log); builds with no channel, to tell the channel's share; the same
// command run by the test itself into /dev/null (its processes compete for the cores, the extension does
// nothing); and the same monitor, idle, for as long as each shown build took. Runs alternate, each with a
// monitor of its own (a re-enabled monitor counts the time it was off as one long delay). Stalls — timer
// gaps over 50 ms — are listed as [ms after the build was asked for, gap ms, CPU ms the extension host used
// meanwhile]: a gap with little CPU is the host waiting for a core, one with as much CPU is its own work.
// Garbage-collector pauses are counted too. A last build, profiled, says where the CPU went.
import * as assert from 'assert';
import { spawn } from 'child_process';
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'perf_hooks';
import * as vscode from 'vscode';
import type { DataKitCiApi } from '../../../src/extension/extension';
import type { LogChannels } from '../../../src/extension/logs';
import { FLOOD_BYTES, JOBS } from './fixture';
import { profiled } from './profile';
import { api, headJob, jobArg, percentile, rebuildAndWaitPending, report, round, sleep, waitFinished } from './measure';

const RESOLUTION_MS = 10;
const RUNS = 3;
const STALL_MS = 50;

interface Figures { samples: number; p50Ms: number; p99Ms: number; maxMs: number; meanMs: number }
interface Watched extends Figures { wallMs: number; cpuMs: number; gc: { pauses: number; totalMs: number; maxMs: number }; stalls: number[][] }

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

/** Watches the event loop from now until `stop`. */
function watch(): { stop(): Watched } {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const t0 = performance.now();
  const cpu0 = cpuMs();
  const stalls: number[][] = [];
  const gc = { pauses: 0, totalMs: 0, maxMs: 0 };
  const onGc = (entries: PerformanceEntry[]): void => {
    for (const e of entries) { gc.pauses++; gc.totalMs += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration); }
  };
  const observer = new PerformanceObserver((list) => onGc(list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  let last = { t: t0, cpu: cpu0 };
  const timer = setInterval(() => {
    const now = { t: performance.now(), cpu: cpuMs() };
    if (now.t - last.t > STALL_MS) { stalls.push([round(last.t - t0, 0), round(now.t - last.t, 0), round(now.cpu - last.cpu, 0)]); }
    last = now;
  }, RESOLUTION_MS);
  let done: Watched | undefined;
  return {
    stop: () => {
      if (!done) {
        h.disable();
        clearInterval(timer);
        onGc(observer.takeRecords());
        observer.disconnect();
        const ms = (ns: number): number => round(ns / 1e6);
        done = {
          wallMs: round(performance.now() - t0, 0), cpuMs: round(cpuMs() - cpu0, 0),
          samples: h.count, p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), meanMs: ms(h.mean),
          gc: { pauses: gc.pauses, totalMs: round(gc.totalMs, 1), maxMs: round(gc.maxMs, 1) }, stalls,
        };
      }
      return done;
    },
  };
}

type Run = Watched & { runningAtMs: number; appendedBytes: number };

async function floodOnce(a: DataKitCiApi, show: boolean): Promise<Run> {
  const channels = a.internals.channels as LogChannels;
  let appendedBytes = 0;
  const sub = channels.onDidAppend((e) => { appendedBytes += e.text.length; });
  const w = watch();
  const t0 = performance.now();
  try {
    await rebuildAndWaitPending(a, 'flood');
    const runningAtMs = round(performance.now() - t0, 0);
    if (show) { await vscode.commands.executeCommand('datakitCi.showLog', jobArg(a, 'flood')); }
    const result = await waitFinished(a, 'flood');
    const figures = w.stop();
    assert.strictEqual(result, 'success');
    assert.strictEqual(headJob(a, 'flood')?.job.status?.output.kind, 'saved');
    return { ...figures, runningAtMs, appendedBytes };
  } finally {
    w.stop();
    sub.dispose();
  }
}

/** The job's command outside the extension, its output thrown away. */
async function floodOutside(): Promise<Run> {
  const w = watch();
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('sh', ['-c', `${JOBS.flood.run} > /dev/null`], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  const figures = w.stop();
  assert.strictEqual(code, 0);
  return { ...figures, runningAtMs: round(performance.now() - t0, 0), appendedBytes: 0 };
}

/** Across runs: the median and the worst of their p99, and the longest delay. */
function across(runs: Figures[]): { p99MedianMs: number; p99WorstMs: number; maxMs: number; p50MedianMs: number } {
  return {
    p99MedianMs: percentile(runs.map((r) => r.p99Ms), 50),
    p99WorstMs: Math.max(...runs.map((r) => r.p99Ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    p50MedianMs: percentile(runs.map((r) => r.p50Ms), 50),
  };
}

describe('bench: event-loop delay under 50 MB of output', function () {
  this.timeout(180_000);

  it('prints 50 MB, with and without its output channel shown, against idle', async () => {
    const a = await api();
    const runs: { shown: Run[]; hidden: Run[]; outside: Run[]; idle: Watched[] } = { shown: [], hidden: [], outside: [], idle: [] };
    for (let i = 0; i < RUNS; i++) {
      runs.shown.push(await floodOnce(a, true));
      await sleep(500);
      runs.hidden.push(await floodOnce(a, false));
      await sleep(500);
      runs.outside.push(await floodOutside());
      await sleep(500);
      const w = watch();
      await sleep(runs.shown[i].wallMs);
      runs.idle.push(w.stop());
      await sleep(500);
    }
    // The whole output, and the log's own heading and closing lines.
    for (const r of runs.shown) { assert.ok(r.appendedBytes > FLOOD_BYTES + FLOOD_BYTES / 100, `the channel got the whole output (${r.appendedBytes} bytes)`); }
    for (const r of runs.hidden) { assert.strictEqual(r.appendedBytes, 0, 'no channel followed the build'); }

    report('eventLoop.output50MB', {
      resolutionMs: RESOLUTION_MS,
      bytesPerBuild: FLOOD_BYTES + FLOOD_BYTES / 100,
      runs: RUNS,
      channelShown: { ...across(runs.shown), runs: runs.shown },
      noChannel: { ...across(runs.hidden), runs: runs.hidden.map(({ appendedBytes: _, ...r }) => r) },
      jobOutsideExtension: { ...across(runs.outside), runs: runs.outside.map(({ appendedBytes: _a, runningAtMs: _r, ...r }) => r) },
      idle: { ...across(runs.idle), runs: runs.idle },
    });
  });

  it('profiles one more build with its channel shown', async () => {
    const a = await api();
    const { result, profile } = await profiled(() => floodOnce(a, true));
    report('eventLoop.output50MB.profile', { wallMs: result.wallMs, cpuMs: result.cpuMs, p99Ms: result.p99Ms, gc: result.gc, ...profile });
  });
});
