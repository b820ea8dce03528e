// How the cost of a fully cached build grows with the number of jobs, against a fully cached `turbo run` of the
// same tasks: generated npm-workspaces monorepos of 10, 50 and 200 jobs (a `build` and a `test` per package;
// each package's build needs the build of the package before it, as turbo's `^build`; its test needs its
// build), whole-process wall time side by side in rotating order (every size in the same rounds), and the
// cost per job (the slope between the smallest and the largest repository).
// Run after `npm run build` and `npm run compile-tests`: node bench/scale.bench.mjs [rounds, default 21] [job counts, default 10,50,200]
// (medians of 11 rounds moved by ±5% from one run to the next at load 2: more than the margin they are read for).
// The middle size also runs in a copy whose cache of objects read (info/object-cache) is full, as a repository's
// gets after weeks of builds: its own objects first, then 4 MiB of others' (what a build must not pay for).
// turbo is installed once into bench/results/turbo/ as by turbo.bench.mjs.
// With DATAKIT_CI_BASELINE_DIST=<another checkout's dist/>, that build's command line runs in the same rounds
// (with a compiled-code cache of its own), as in turbo.bench.mjs, in a copy of each repository made once its
// results are saved: each build keeps the keys it computed for the commit beside the results repository, and
// two builds that write them differently would each find the other's there, every round.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gitIn, median, ms, record, requireOut, sideBySide, TURBO_DIR, wall, withTurbo } from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 21);
const COUNTS = (process.argv[3] ?? '10,50,200').split(',').map(Number);

const json = (v) => `${JSON.stringify(v, null, 2)}\n`;

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** A monorepo of `jobs / 2` packages, p0 … pN, each depending on the one before; committed with its lockfile. */
function makeRepo(dir, jobs, env) {
  const n = jobs / 2;
  fs.mkdirSync(dir, { recursive: true });
  gitIn(dir, ['init', '-q', '-b', 'main']);
  const npmVersion = execFileSync('npm', ['--version'], { env, encoding: 'utf8' }).trim();
  write(path.join(dir, 'package.json'), json({ name: 'scale', private: true, packageManager: `npm@${npmVersion}`, workspaces: ['packages/*'] }));
  write(path.join(dir, 'turbo.json'), json({ tasks: { build: { dependsOn: ['^build'], outputs: ['dist/**'] }, test: { dependsOn: ['build'] } } }));
  write(path.join(dir, '.gitignore'), 'node_modules\n.turbo\ndist\n');
  const config = {};
  for (let i = 0; i < n; i++) {
    const p = `p${i}`;
    write(path.join(dir, 'packages', p, 'package.json'), json({
      name: `@scale/${p}`, version: '1.0.0', private: true,
      scripts: { build: `mkdir -p dist && echo built ${p} > dist/out.txt`, test: `echo tested ${p}` },
      ...(i > 0 ? { dependencies: { [`@scale/p${i - 1}`]: '1.0.0' } } : {}),
    }));
    write(path.join(dir, 'packages', p, 'src', 'index.js'), `module.exports = ${i};\n`);
    const inputs = [`packages/${p}`];
    config[`${p}.build`] = { run: `npm run build -w packages/${p}`, inputs, outputs: [`packages/${p}/dist/`], ...(i > 0 ? { needs: [`p${i - 1}.build`] } : {}) };
    config[`${p}.test`] = { run: `npm run test -w packages/${p}`, inputs, needs: [`${p}.build`] };
  }
  write(path.join(dir, '.datakit-ci.json'), json({ jobs: config }));
  // turbo reads the workspace from the lockfile: made without a download (no registry dependency).
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env, stdio: 'pipe' });
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'scale']);
  // turbo found in the repository's node_modules runs as the local turbo (no hand-off to another copy).
  fs.symlinkSync(path.join(TURBO_DIR, 'node_modules'), path.join(dir, 'node_modules'));
}

/** A copy of `repo` whose cache of objects read holds its own objects, then others' up to 4 MiB (random, never asked for). */
function withFullObjectCache(repo, copy) {
  const { CacheFile, cacheFileBytes, recordBytes } = requireOut('store/git/objectCacheFile');
  fs.cpSync(repo, copy, { recursive: true, verbatimSymlinks: true });
  const file = path.join(copy, '.git', 'datakit-ci', 'info', 'object-cache');
  const own = CacheFile.parse(fs.readFileSync(file));
  assert.ok(own instanceof CacheFile, `the cache of ${repo} is this version's`);
  const records = [...own.records()].map((r) => Buffer.from(own.bytesOf(r)));
  let bytes = records.reduce((n, r) => n + r.length, 0);
  while (bytes < (4 << 20) - 1000) {
    const record = recordBytes({ oid: crypto.randomBytes(20).toString('hex'), stamp: { ino: 1, size: 1, ctimeMs: 1 }, raw: crypto.randomBytes(400 + records.length % 400) });
    records.push(record);
    bytes += record.length;
  }
  fs.writeFileSync(file, cacheFileBytes(records));
  return records.length;
}

await withTurbo('dkci-scale-bench-', async ({ tmp, turbo, cli, env }) => {
  const results = {};
  const baseline = process.env.DATAKIT_CI_BASELINE_DIST ? path.join(path.resolve(process.env.DATAKIT_CI_BASELINE_DIST), 'cli.js') : undefined;
  const baselineEnv = { ...env, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'baseline-cache') };
  const contestants = {};
  for (const jobs of COUNTS) {
    const repo = path.join(tmp, `repo-${jobs}`);
    makeRepo(repo, jobs, env);
    const run = (cmd, args) => spawnSync(cmd, args, { cwd: repo, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const turboArgs = ['run', 'build', 'test'];
    for (const [cmd, args] of [[process.execPath, [cli, 'build']], [turbo.wrapper, turboArgs]]) {
      const r = run(cmd, args);
      assert.equal(r.status, 0, `${path.basename(cmd)} ${args.join(' ')}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    }
    const again = JSON.parse(run(process.execPath, [cli, 'build', '--json']).stdout);
    assert.equal(again.jobs.length, jobs);
    assert.ok(again.jobs.every((j) => j.state === 'success' && j.cached), 'the second build is all hits');
    const hit = run(turbo.wrapper, turboArgs);
    assert.match(hit.stdout, new RegExp(`${jobs} cached, ${jobs} total`), hit.stdout.slice(-500));
    const baselineRepo = `${repo}-baseline`;
    if (baseline) {
      fs.cpSync(repo, baselineRepo, { recursive: true, verbatimSymlinks: true });
      const r = spawnSync(process.execPath, [baseline, 'build', '--json'], { cwd: baselineRepo, env: baselineEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.ok(JSON.parse(r.stdout).jobs.every((j) => j.state === 'success' && j.cached), `the baseline reads the same results: ${r.stderr}`);
    }
    contestants[`datakit ${jobs}`] = () => wall(process.execPath, [cli, 'build'], { cwd: repo, env });
    if (jobs === COUNTS[Math.floor(COUNTS.length / 2)]) {
      run(process.execPath, [cli, 'build']); // the cache of objects read is written by a build that read the objects
      const full = `${repo}-full-cache`;
      const records = withFullObjectCache(repo, full);
      const hit = spawnSync(process.execPath, [cli, 'build'], { cwd: full, env, encoding: 'utf8' });
      assert.equal(hit.stderr, '', `the full cache is read without a word: ${hit.stderr}`);
      console.log(`${jobs} jobs: a copy whose cache of objects read holds ${records} records (${(fs.statSync(path.join(full, '.git', 'datakit-ci', 'info', 'object-cache')).size / 1048576).toFixed(1)} MiB)`);
      contestants[`datakit ${jobs} full cache`] = () => wall(process.execPath, [cli, 'build'], { cwd: full, env });
    }
    if (baseline) { contestants[`baseline ${jobs}`] = () => wall(process.execPath, [baseline, 'build'], { cwd: baselineRepo, env: baselineEnv }); }
    contestants[`turbo ${jobs}`] = () => wall(turbo.wrapper, turboArgs, { cwd: repo, env });
  }
  // Every size in the same rounds: a change in the machine's load falls on all of them alike, so that the
  // cost per job (the difference between sizes) is not a difference in load.
  contestants.node = () => wall(process.execPath, ['-e', '0'], { cwd: tmp, env });
  const times = await sideBySide(contestants, ROUNDS);
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  for (const jobs of COUNTS) {
    const m = { datakit: med[`datakit ${jobs}`], turbo: med[`turbo ${jobs}`], node: med.node, ...(baseline ? { baseline: med[`baseline ${jobs}`] } : {}) };
    results[jobs] = m;
    console.log(`${jobs} jobs, fully cached, median of ${ROUNDS}: datakit-ci build ${ms(m.datakit)}; turbo run build test ${ms(m.turbo)}; ratio ${(m.datakit / m.turbo).toFixed(2)}; node -e 0 ${ms(m.node)}`);
    if (baseline) { console.log(`  the baseline build ${ms(m.baseline)}: ratio to turbo ${(m.baseline / m.turbo).toFixed(2)}; this build / baseline ${(m.datakit / m.baseline).toFixed(2)}`); }
    const full = med[`datakit ${jobs} full cache`];
    if (full !== undefined) { results[jobs].fullCache = full; console.log(`  with a full cache of objects read ${ms(full)}: ratio to turbo ${(full / m.turbo).toFixed(2)}, ${ms(full - m.datakit)} more than with its own objects only`); }
  }
  const [lo, hi] = [Math.min(...COUNTS), Math.max(...COUNTS)];
  if (hi > lo) {
    const per = (k) => (results[hi][k] - results[lo][k]) / (hi - lo);
    console.log(`cost per additional job (${lo} → ${hi} jobs): datakit-ci ${ms(per('datakit'))}, turbo ${ms(per('turbo'))}${baseline ? `, the baseline build ${ms(per('baseline'))}` : ''}`);
  }
  record('scale', { rounds: ROUNDS, turbo: turbo.version, medianMs: results });
});
