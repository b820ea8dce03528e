// One commit's jobs spread over 1, 2 and 4 runners (`build --fetch --push --runners N`), each runner a command
// line in a clone of its own and a bare repository the remote, on the same graph of jobs that sleep (so that
// the figures do not depend on the cores): wall time against the graph's critical path and against 1 runner.
// Then what a claim costs per job (claim, then the atomic push of a result that removes it) against a plain
// `git push` of one ref to the same remote.
//
//   node bench/runners.bench.mjs [a] [b]     a: runners, b: claim overhead (both by default)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { distFile, git, gitIn, GIT_ENV, median, record, requireOut, sideBySide, withTmp } from './lib.mjs';

const parts = process.argv.slice(2);
const want = (p) => parts.length === 0 || parts.includes(p);
const CLI = distFile('cli.js');
const SLEEP_S = Number(process.env.BENCH_SLEEP_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/**
 * 40 jobs, as the test: 32 leaves and 8 that each need four leaves: wide enough for 4 runners of 2
 * slots each (ideally 20 rounds of jobs on 1 runner, 5 on 4: 4 ×); the critical path is 2 jobs long.
 */
function graph() {
  const jobs = {};
  const job = (needs) => ({ run: `sleep ${SLEEP_S}`, inputs: ['src'], ...(needs ? { needs } : {}) });
  for (let i = 0; i < 32; i++) { jobs[`leaf${i}`] = job(); }
  for (let i = 0; i < 8; i++) { jobs[`mid${i}`] = job([0, 1, 2, 3].map((j) => `leaf${4 * i + j}`)); }
  return jobs;
}
const JOBS = 40;
const CRITICAL_S = 2 * SLEEP_S;

/** A bare origin of one commit of the graph, with a new `src` each time (new keys: nothing cached). */
function origin(tmp, n) {
  const seed = path.join(tmp, `seed-${n}`);
  fs.mkdirSync(path.join(seed, 'src'), { recursive: true });
  fs.writeFileSync(path.join(seed, '.datakit-ci.json'), JSON.stringify({ jobs: graph() }));
  fs.writeFileSync(path.join(seed, 'src', 'a.txt'), `${n}\n`);
  gitIn(seed, ['init', '-q', '-b', 'main']);
  gitIn(seed, ['add', '-A']);
  gitIn(seed, ['commit', '-qm', 'one']);
  const remote = path.join(tmp, `origin-${n}.git`);
  gitIn(tmp, ['clone', '-q', '--bare', seed, remote]);
  return remote;
}

function runner(dir, runners, cache) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, 'build', '--fetch', '--push', '--runners', String(runners)], { cwd: dir, env: { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: cache }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b) => { err += b; });
    c.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`runner exited ${code}: ${err}`))));
  });
}

async function runners(tmp) {
  let n = 0;
  const spread = (count) => async () => {
    const remote = origin(tmp, ++n);
    const dirs = Array.from({ length: count }, (_, i) => { const d = path.join(tmp, `r${n}-${i}`); gitIn(tmp, ['clone', '-q', remote, d]); return d; });
    await Promise.all(dirs.map((d, i) => runner(d, count, path.join(tmp, `cache-${n}-${i}`))));
    const results = git(remote, ['for-each-ref', '--format=%(refname)', 'refs/datakit-ci/']).split('\n').filter(Boolean).length;
    if (results !== JOBS) { throw new Error(`${results} results on the remote, not ${JOBS}`); }
  };
  const times = await sideBySide({ 1: spread(1), 2: spread(2), 4: spread(4) }, ROUNDS);
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`runners (${JOBS} jobs of ${SLEEP_S} s, critical path ${CRITICAL_S} s, ${ROUNDS} rounds side by side, medians; setup of the clones included):`);
  for (const k of ['1', '2', '4']) {
    console.log(`  ${k} runner${k === '1' ? ' ' : 's'}: ${(m[k] / 1000).toFixed(1)} s = ${(m[k] / 1000 / CRITICAL_S).toFixed(2)} × the critical path; speed-up over 1 runner ${(m['1'] / m[k]).toFixed(2)} (${(m['1'] / m[k] / Number(k)).toFixed(2)} × N)`);
  }
  return { runnersMs: m };
}

async function overhead(tmp) {
  const { GitStore } = requireOut('store/results/gitStore');
  const remote = origin(tmp, 'claims');
  const dir = path.join(tmp, 'claimer');
  gitIn(tmp, ['clone', '-q', remote, dir]);
  const store = await GitStore.open({ resultsDir: path.join(dir, '.git', 'datakit-ci') });
  const claims = store.claims({ remote: 'origin', userConfig: path.join(dir, '.git', 'config'), runner: 'bench', timeoutMs: 60_000 });
  // A commit of the results repository to push as each job's result: the source commit, put there once.
  const head = gitIn(dir, ['rev-parse', 'HEAD']);
  gitIn(dir, ['push', '-q', path.join(dir, '.git', 'datakit-ci'), `${head}:refs/bench/source`]);
  const blob = gitIn(dir, ['hash-object', '-w', '--stdin'], 'x\n');
  let i = 0;
  const PER = 10;
  const times = await sideBySide({
    // What a job costs the runner beyond its build: its claim, the look for a result that came meanwhile,
    // the push of its result with the claim's removal.
    claim: async () => {
      for (let j = 0; j < PER; j++) {
        const entry = `bench/j${++i}/0123456789abcdef`;
        const c = await claims.claim(entry);
        await claims.resultThere(entry);
        await claims.finish(entry, c.value, head);
      }
    },
    // What a job costs a runner that does not share: one push of its result.
    push: async () => {
      for (let j = 0; j < PER; j++) { gitIn(dir, ['push', '-q', 'origin', `${blob}:refs/plain/p${++i}`]); }
    },
  }, ROUNDS + 1);
  const claimMs = median(times.claim) / PER;
  const pushMs = median(times.push) / PER;
  console.log(`claim overhead per job (${PER} jobs × ${ROUNDS + 1} rounds, medians): claims ${claimMs.toFixed(0)} ms, plain git push ${pushMs.toFixed(0)} ms (${(claimMs / pushMs).toFixed(2)} ×)`);
  return { claimMsPerJob: claimMs, pushMsPerJob: pushMs };
}

await withTmp('dkci-runners-', async (tmp) => {
  const figures = {};
  if (want('a')) { Object.assign(figures, await runners(tmp)); }
  if (want('b')) { Object.assign(figures, await overhead(tmp)); }
  record('runners', figures);
});
