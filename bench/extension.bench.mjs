// The extension inside the real extension host (code-server's, as the host suite runs it): runs the `bench`
// configuration of scripts/host/run-host-tests.mjs (test/host/bench), collects the `BENCH <name> <json>`
// lines its suite prints, checks them against the budgets and writes bench/results/extension.json.
// Run after `npm run pretest` (the bundle and the compiled suite): node bench/extension.bench.mjs
// Budgets: (1) activation to a filled tree, 10 jobs among 10,000 saved results: ≤ 300 ms median;
//          (2) event-loop delay while a job prints 50 MB into a shown output channel: ≤ 50 ms at p99;
//          (3) tree refreshes while a job prints ~100,000 lines a second: ≤ 10 per second.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNNER = ['scripts/host/run-host-tests.mjs', '--only', 'bench'];
const OUT = path.join(ROOT, 'bench', 'results', 'extension.json');

if (!fs.existsSync(path.join(ROOT, 'out', 'test', 'host', 'bench', 'fixture.js')) || !fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) {
  console.error('The bundle or the compiled suite is missing: run `npm run pretest` first.');
  process.exit(2);
}

function run() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, RUNNER, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const figures = {};
    let rest = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const m = /^BENCH (\S+) (\{.*\})\s*$/.exec(line);
        if (m) { figures[m[1]] = JSON.parse(m[2]); }
      }
    });
    child.on('close', (code) => resolve({ code, figures }));
  });
}

const load0 = os.loadavg();
const started = new Date();
const { code, figures } = await run();
const load1 = os.loadavg();

const get = (name, ...keys) => keys.reduce((o, k) => o?.[k], figures[name]);
const budgets = [
  { what: 'activation to a filled tree, median of repeated loads (10 jobs, 10,000 saved results)', value: get('activation.load.asWritten', 'big', 'totalMs', 'median'), unit: 'ms', max: 300 },
  { what: 'the same after git gc of the results repository', value: get('activation.load.afterGc', 'big', 'totalMs', 'median'), unit: 'ms', max: 300 },
  { what: 'first activation to a filled tree (one sample)', value: get('activation.first', 'filledTreeMs'), unit: 'ms', max: 300 },
  { what: 'event-loop delay p99 while 50 MB go to a shown output channel (median of runs)', value: get('eventLoop.output50MB', 'channelShown', 'p99MedianMs'), unit: 'ms', max: 50 },
  { what: 'tree refreshes in any one second at ~100,000 lines/s', value: get('tree.refreshes100kLines', 'treeRefreshesMaxInASecond'), unit: '/s', max: 10 },
].map((b) => ({ ...b, verdict: b.value === undefined ? 'missing' : b.value <= b.max ? 'ok' : 'OVER BUDGET' }));

const result = {
  command: `node ${RUNNER.join(' ')}`,
  date: started.toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  loadAverage: { before: load0.map((x) => Number(x.toFixed(2))), after: load1.map((x) => Number(x.toFixed(2))) },
  exitCode: code,
  budgets,
  figures,
};
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');

console.log('\n===== extension benchmarks =====');
for (const b of budgets) {
  console.log(`${b.verdict.padEnd(11)} ${String(b.value ?? '-').padStart(8)} ${b.unit.padEnd(3)} (≤ ${b.max})  ${b.what}`);
}
console.log(`written to ${path.relative(ROOT, OUT)}`);
process.exit(code !== 0 ? code : budgets.some((b) => b.verdict === 'missing') ? 1 : 0);
