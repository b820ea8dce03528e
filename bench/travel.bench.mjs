// Results that travel (issue 11): (a) push 10,000 results to a bare remote and fetch them into a fresh
// clone, against git push / git fetch of the same refs; (b) a lookup that finds a fetched result among
// 10,000; (c) gc of 5,000 builds of 100 jobs with 100 KB logs under a 100 MiB cap; (d) memory after 100,000
// distinct keys were looked up, against a cache without the bound.
// Run after `npm run build` and `npx tsc -p tsconfig.test.json`: node bench/travel.bench.mjs [a] [b] [c] [d] [rounds]
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, distFile, git, gitIn, median, mib, ms, record, requireOut, sideBySide, time, verdict, withTmp } from './lib.mjs';

const { GitStore, objectBytes } = requireOut('store/results/gitStore');
const { BuildCache } = requireOut('engine/cache');
const { LogManager } = requireOut('engine/liveLog');

const args = process.argv.slice(2);
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const parts = args.filter((a) => /^[abcd]$/.test(a));
const want = (p) => parts.length === 0 || parts.includes(p);
const figures = {};

/** `count` results of `jobs` jobs (refs/heads/shell/<job>/<digest16>) in a results repository, by fast-import. */
function makeResults(results, count, { jobs = 10, log = () => 'ok\n', buildsPerKey = 1, start = 1_700_000_000 } = {}) {
  if (!fs.existsSync(results)) { git(results, ['init', '-q', '--bare']); }
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const chunks = [];
  const keys = [];
  let t = start;
  for (let i = 0; i < count; i++) {
    const job = `job${i % jobs}`;
    const digest = createHash('sha256').update(`key ${i}`).digest('hex');
    keys.push({ job, digest });
    const ref = `refs/heads/shell/${job}/${digest.slice(0, 16)}`;
    for (let b = 0; b < buildsPerKey; b++) {
      t += 60;
      chunks.push(`commit ${ref}\nauthor DataKit CI <datakit-ci@localhost> ${t - 2} +0000\ncommitter DataKit CI <datakit-ci@localhost> ${t} +0000\n${data(`${job} @ 0000000: passed in 2.0 s\n\nJob: ${job}\nRun-Time-Ms: 2000\n`)}`);
      chunks.push(`M 100644 inline log\n${data(log(i, b))}`);
      chunks.push(`M 100644 inline key.json\n${data(JSON.stringify({ digest }))}`);
    }
  }
  const r = spawnSync('git', [`--git-dir=${results}`, 'fast-import', '--quiet'], { input: chunks.join(''), env: GIT_ENV, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr?.toString());
  return keys;
}

await withTmp('dkci-travel-bench-', async (tmp) => {
  const env = { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };
  const cli = distFile('cli.js');

  if (want('a') || want('b')) {
    // A repository, a bare remote of it, and 10,000 results in the repository's results repository.
    const seed = path.join(tmp, 'seed');
    fs.mkdirSync(seed);
    gitIn(seed, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(seed, 'a.txt'), 'a\n');
    gitIn(seed, ['add', '-A']);
    gitIn(seed, ['commit', '-q', '-m', 'one']);
    const origin = path.join(tmp, 'origin.git');
    gitIn(tmp, ['clone', '-q', '--bare', seed, origin]);
    const a = path.join(tmp, 'a');
    gitIn(tmp, ['clone', '-q', origin, a]);
    const keys = makeResults(path.join(a, '.git', 'datakit-ci'), 10_000, { log: (i) => `=== job @ ${i}\nline ${i}\nSuccess\n` });

    if (want('a')) {
      const pushTimes = { datakit: [], git: [] };
      const fetchTimes = { datakit: [], git: [] };
      for (let r = 0; r < ROUNDS; r++) {
        // Push: to a fresh bare remote each round, ours (datakit-ci push) and git's (the same refspec).
        for (const who of r % 2 ? ['git', 'datakit'] : ['datakit', 'git']) {
          const remote = path.join(tmp, `push-${who}-${r}.git`);
          gitIn(tmp, ['init', '-q', '--bare', remote]);
          gitIn(a, ['remote', 'add', `r${r}${who}`, remote]);
          pushTimes[who].push(await time(() => {
            const res = who === 'datakit'
              ? spawnSync(process.execPath, [cli, 'push', `r${r}${who}`], { cwd: a, env })
              : spawnSync('git', [`--git-dir=${path.join(a, '.git', 'datakit-ci')}`, 'push', '-q', remote, 'refs/heads/*:refs/datakit-ci/*'], { env: GIT_ENV });
            assert.equal(res.status, 0, res.stderr?.toString());
          }));
          assert.equal(git(remote, ['for-each-ref', '--format=x', 'refs/datakit-ci/']).split('\n').length, 10_000);
          // Fetch: into a fresh clone's results repository, ours and git's.
          const b = path.join(tmp, `b-${who}-${r}`);
          gitIn(tmp, ['clone', '-q', origin, b]);
          gitIn(b, ['remote', 'set-url', 'origin', remote]);
          const bResults = path.join(b, '.git', 'datakit-ci');
          if (who === 'git') { git(bResults, ['init', '-q', '--bare']); }
          fetchTimes[who].push(await time(() => {
            const res = who === 'datakit'
              ? spawnSync(process.execPath, [cli, 'fetch'], { cwd: b, env })
              : spawnSync('git', [`--git-dir=${bResults}`, 'fetch', '-q', '--no-tags', remote, '+refs/datakit-ci/*:refs/fetched/origin/*'], { env: GIT_ENV });
            assert.equal(res.status, 0, res.stderr?.toString());
          }));
          assert.equal(git(bResults, ['for-each-ref', '--format=x', 'refs/fetched/origin/']).split('\n').length, 10_000);
          fs.rmSync(b, { recursive: true, force: true });
          fs.rmSync(remote, { recursive: true, force: true });
        }
      }
      const p = { datakit: median(pushTimes.datakit), git: median(pushTimes.git) };
      const f = { datakit: median(fetchTimes.datakit), git: median(fetchTimes.git) };
      console.log(`(a) push 10,000 results to a bare remote: datakit-ci push ${ms(p.datakit)} against git push ${ms(p.git)} — ratio ${(p.datakit / p.git).toFixed(2)} — ${verdict(p.datakit <= 1.2 * p.git)} (median of ${ROUNDS})`);
      console.log(`    fetch them into a fresh clone: datakit-ci fetch ${ms(f.datakit)} against git fetch ${ms(f.git)} — ratio ${(f.datakit / f.git).toFixed(2)} — ${verdict(f.datakit <= 1.2 * f.git)}`);
      figures.pushMs = p;
      figures.fetchMs = f;
    }

    if (want('b')) {
      // A clone that fetched the 10,000: a lookup of one of them (fresh store: the ref is found, adopted, read).
      const b = path.join(tmp, 'b-lookup');
      gitIn(tmp, ['clone', '-q', origin, b]);
      const pushed = spawnSync(process.execPath, [cli, 'push'], { cwd: a, env });
      assert.equal(pushed.status, 0, pushed.stderr?.toString());
      assert.equal(spawnSync(process.execPath, [cli, 'fetch'], { cwd: b, env }).status, 0);
      const store = await GitStore.open({ resultsDir: path.join(b, '.git', 'datakit-ci') });
      let i = 0;
      const times = await sideBySide({
        // A key never looked up: its fetched ref, adopted (the entry's branch written), its commit read.
        fetched: async () => {
          const k = keys[(i++ * 7919) % keys.length];
          const snap = await store.head('shell', `${k.job}/${k.digest.slice(0, 16)}`);
          assert.ok(snap);
        },
        // The same once adopted: a result of our own.
        own: async () => {
          const k = keys[((i - 1) * 7919) % keys.length];
          assert.ok(await store.head('shell', `${k.job}/${k.digest.slice(0, 16)}`));
        },
      }, 200);
      const m = { fetched: median(times.fetched), own: median(times.own) };
      console.log(`(b) lookup of a fetched result among 10,000 fetched refs (found, adopted, read): ${ms(m.fetched)} median of 200 — ${verdict(m.fetched <= 2)}; of a result already ours ${ms(m.own)}`);
      figures.fetchedLookupMs = m;
    }
  }

  if (want('c')) {
    // 5,000 builds of 100 jobs (50 keys each), 100 KB logs that do not compress much, 2 builds per key.
    const repo = path.join(tmp, 'gc');
    fs.mkdirSync(repo);
    gitIn(repo, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(repo, 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(repo, '.datakit-ci.json'), JSON.stringify({ jobs: Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`job${j}`, { run: `echo ${j}` }])) }));
    gitIn(repo, ['add', '-A']);
    gitIn(repo, ['commit', '-q', '-m', 'one']);
    // HEAD's 100 jobs built for real (the current results), then the generated history beside them.
    assert.equal(spawnSync(process.execPath, [cli, 'build'], { cwd: repo, env }).status, 0);
    const results = path.join(repo, '.git', 'datakit-ci');
    const noise = randomBytes(75_000).toString('base64'); // 100 KB
    const t0 = Date.now();
    makeResults(results, 2_500, { jobs: 100, buildsPerKey: 2, log: (i, b) => `${i} ${b}\n${noise.slice(i % 1000)}${noise.slice(0, i % 1000)}\n`, start: Math.floor(Date.now() / 1000) - 86_400 }); // younger than 30 days: only the cap removes them
    git(results, ['repack', '-q', '-a', '-d']);
    const before = objectBytes(results);
    const made = Date.now() - t0;
    const gcTime = await time(() => {
      const r = spawnSync(process.execPath, [cli, 'gc', '--max-size', '100'], { cwd: repo, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
    const after = objectBytes(results);
    const status = JSON.parse(spawnSync(process.execPath, [cli, 'status', '--json'], { cwd: repo, env, encoding: 'utf8' }).stdout);
    assert.ok(status.jobs.every((j) => j.state === 'success'), 'every current result still readable');
    const fsck = spawnSync('git', [`--git-dir=${results}`, 'fsck', '--no-dangling'], { env: GIT_ENV, encoding: 'utf8' });
    console.log(`(c) results repository after 5,000 builds of 100 jobs with 100 KB logs (generated in ${(made / 1000).toFixed(0)} s): ${mib(before)} → gc --max-size 100: ${mib(after)} in ${(gcTime / 1000).toFixed(1)} s — ${verdict(after <= 100 * 1048576)}; HEAD's 100 results readable; fsck ${fsck.status === 0 ? 'clean' : `FAILED: ${fsck.stderr}`}`);
    figures.gc = { beforeBytes: before, afterBytes: after, gcMs: gcTime };
  }

  if (want('d')) {
    // 100,000 distinct keys queried (none saved: each an entry and a mutex), bounded and unbounded.
    const store = await GitStore.open({ resultsDir: path.join(tmp, 'mem') });
    const builder = { name: 'mem', title: (k) => k, branch: (k) => k, generate: async () => 'x', load: async () => 'x' };
    const grow = async (maxEntries) => {
      const cache = new BuildCache(builder, { store, logs: new LogManager(), maxEntries });
      global.gc?.();
      const h0 = process.memoryUsage().heapUsed;
      for (let i = 0; i < 100_000; i++) { await cache.query(`key-${maxEntries}-${i}`); }
      global.gc?.();
      const grew = process.memoryUsage().heapUsed - h0;
      const size = cache.size;
      cache.dispose();
      return { grew, size };
    };
    const bounded = await grow(10_000);
    const unbounded = await grow(Number.MAX_SAFE_INTEGER);
    console.log(`(d) heap growth after 100,000 distinct keys looked up: ${mib(bounded.grew)} with the bound (${bounded.size} entries kept) — ${verdict(bounded.grew <= 50 * 1048576)}; without it ${mib(unbounded.grew)} (${unbounded.size} entries)${global.gc ? '' : ' (run with --expose-gc for exact figures)'}`);
    figures.memory = { bounded, unbounded };
  }
  record('travel', { rounds: ROUNDS, ...figures });
});
