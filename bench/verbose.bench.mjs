// `datakit-ci build --verbose` streaming a job's output: 1 GiB with newlines and 1 GiB without any, to a
// pipe that reads it all. Measures wall time and the CLI's peak RSS (its own, not the job's: /proc's VmHWM
// of the CLI process, read by GNU time as maximum resident set size), against the same bytes piped through
// `cat` (the floor of moving 1 GiB through a pipe here).
// Run after `npm run build`: node bench/verbose.bench.mjs [GiB]
// Budget: peak CLI RSS ≤ 300 MB in both cases; time linear in the output (1 GiB in a single line included).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, distFile, gitIn, record, verdict, withTmp } from './lib.mjs';

const GIB = Number(process.argv[2] ?? 1);
const BYTES = Math.round(GIB * 1024 ** 3);
const BUDGET_MB = 300;

/** Runs `cmd` under GNU time with its stdout drained by `wc -c`; wall seconds, peak RSS in MB, bytes seen. */
function measure(cmd, cwd, env) {
  const script = `/usr/bin/time -f '%e %M' -o time.out ${cmd} | wc -c > count.out`;
  const r = spawnSync('/bin/sh', ['-c', script], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) { throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`); }
  const [seconds, kb] = fs.readFileSync(path.join(cwd, 'time.out'), 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { seconds, peakMB: kb / 1024, bytes: Number(fs.readFileSync(path.join(cwd, 'count.out'), 'utf8').trim()) };
}

await withTmp('dkci-verbose-bench-', async (tmp) => {
  const cli = distFile('cli.js');
  const repo = path.join(tmp, 'repo');
  fs.mkdirSync(repo);
  gitIn(repo, ['init', '-q', '-b', 'main']);
  const jobs = {
    lines: { run: `yes 'a line of build output, about sixty bytes long, repeated...' | head -c ${BYTES}` },
    oneline: { run: `head -c ${BYTES} /dev/zero | tr '\\0' 'x'` },
  };
  fs.writeFileSync(path.join(repo, '.datakit-ci.json'), JSON.stringify({ jobs }));
  gitIn(repo, ['add', '-A']);
  gitIn(repo, ['commit', '-qm', 'bench']);
  const env = { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };
  const figures = {};
  console.log(`${GIB} GiB of job output through \`datakit-ci build --verbose\`, drained by wc -c:`);
  console.log('| output | CLI wall | CLI peak RSS | `cat` of the same bytes | ratio | budget (RSS ≤ 300 MB) |');
  console.log('|---|---|---|---|---|---|');
  for (const job of Object.keys(jobs)) {
    const floor = measure(`/bin/sh -c "${jobs[job].run.replace(/"/g, '\\"')}"`, tmp, env);
    const r = measure(`${process.execPath} ${cli} build ${job} --verbose`, repo, env);
    figures[job] = { seconds: r.seconds, peakMB: r.peakMB, catSeconds: floor.seconds, bytes: r.bytes };
    console.log(`| ${job === 'lines' ? 'lines of 60 bytes' : 'one line, no newline'} | ${r.seconds.toFixed(1)} s | ${r.peakMB.toFixed(0)} MB | ${floor.seconds.toFixed(1)} s | ${(r.seconds / floor.seconds).toFixed(1)}× | ${verdict(r.peakMB <= BUDGET_MB)} |`);
    if (r.bytes < BYTES) { throw new Error(`${job}: only ${r.bytes} of ${BYTES} bytes reached stdout`); }
  }
  record('verbose', figures);
});
