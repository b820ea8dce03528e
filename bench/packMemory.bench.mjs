// Extension-host memory growth from reading a repository whose only pack is ~300 MB: what the extension
// does for HEAD (RepoJobs: read .datakit-ci.json, compute the jobs' keys, query their statuses), against
// isomorphic-git reading one blob of the same repository, each in a fresh node process.
// Run after `npx tsc -p tsconfig.test.json`: node bench/packMemory.bench.mjs [packMiB]
// Budget: peak RSS growth of the RepoJobs path ≤ 30 MB.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, PROC_STATUS_JS, ROOT, gitIn, median, mib, record, requireOut, verdict, withTmp } from './lib.mjs';

const PACK_MIB = Number(process.argv[2] ?? 300);
const RUNS = 3;
const BUDGET = 30e6;

/**
 * One commit: PACK_MIB random (incompressible) 1 MiB blobs under data/, a few source files and a
 * .datakit-ci.json of 5 jobs; written by git fast-import (streamed), then `git gc` into one pack.
 */
async function makeRepo(dir) {
  fs.mkdirSync(dir);
  gitIn(dir, ['init', '-q', '-b', 'main']);
  const jobs = {
    build: { run: 'true', inputs: ['src', 'package.json'] },
    test: { run: 'true', inputs: ['src', 'data/b0007'] },
    data: { run: 'true', inputs: ['data'] },
    lint: { run: 'true', inputs: ['src/a.ts'] },
    all: { run: 'true' },
  };
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: dir, env: GIT_ENV, stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise((resolve, reject) => child.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`fast-import exited ${c}`)))));
  const write = (chunk) => (child.stdin.write(chunk) ? undefined : new Promise((r) => child.stdin.once('drain', r)));
  const inline = (p, data) => write(Buffer.concat([Buffer.from(`M 100644 inline ${p}\ndata ${data.length}\n`), data, Buffer.from('\n')]));
  await write('commit refs/heads/main\ncommitter Bench <bench@example.invalid> 1700000000 +0000\ndata 5\nbench\n');
  await inline('.datakit-ci.json', Buffer.from(JSON.stringify({ jobs }, null, 2) + '\n'));
  await inline('package.json', Buffer.from('{}\n'));
  for (const f of ['a.ts', 'b.ts', 'c.ts']) { await inline(`src/${f}`, Buffer.from(`export const ${f[0]} = 1;\n`)); }
  for (let i = 0; i < PACK_MIB; i++) { await inline(`data/b${String(i).padStart(4, '0')}`, randomBytes(1 << 20)); }
  child.stdin.end('\n');
  await done;
  gitIn(dir, ['gc', '--quiet']);
  const packs = fs.readdirSync(path.join(dir, '.git', 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
  assert.equal(packs.length, 1, 'one pack');
  return fs.statSync(path.join(dir, '.git', 'objects', 'pack', packs[0])).size;
}

/** Saves a result for each job of HEAD, then drops the saved keys so that the measured run computes them. */
async function saveResults(repo, cacheDir) {
  const { RepoJobs } = requireOut('jobs/repoJobs');
  const { entryName, keyJson } = requireOut('jobs/keys/key');
  const jobs = await RepoJobs.open({ dir: repo, cacheDir });
  try {
    const at = await jobs.jobsAt(jobs.headTarget()[0].commit);
    for (const key of at.keys) {
      const tx = jobs.store.begin('shell', entryName(key));
      await tx.writeFile('key.json', keyJson(key));
      await tx.writeFile('log', `=== ${key.job.name}\nSuccess\n`);
      await tx.commit('Cached successful result');
    }
    fs.rmSync(path.join(jobs.store.dir, 'keys'), { recursive: true, force: true });
    return at.keys.length;
  } finally {
    jobs.dispose();
  }
}

/** In a fresh node process: modules loaded, peak reset, then `mode`; returns peak RSS growth and time. */
function measure(mode, repo, cacheDir) {
  const script = `${PROC_STATUS_JS}
    const path = require('path');
    const fs = require('fs');
    const git = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'isomorphic-git'))});
    const { RepoJobs } = require(${JSON.stringify(path.join(ROOT, 'out', 'src', 'jobs', 'repoJobs.js'))});
    const repo = ${JSON.stringify(repo)};
    (async () => {
      global.gc();
      resetPeak();
      const before = procStatus().VmRSS;
      const t = process.hrtime.bigint();
      let detail;
      if (${JSON.stringify(mode)} === 'repoJobs') {
        // What the extension does for HEAD: read the commit's jobs and keys with git, query the results.
        const jobs = await RepoJobs.open({ dir: repo, cacheDir: ${JSON.stringify(cacheDir)} });
        const head = jobs.headTarget()[0];
        const at = await jobs.jobsAt(head.commit);
        const states = [];
        for (const key of at.keys) { states.push((await jobs.query(key))?.result.kind ?? 'none'); }
        jobs.dispose();
        detail = states.join(',');
      } else if (${JSON.stringify(mode)} === 'isomorphic-git') {
        const oid = await git.resolveRef({ fs, dir: repo, ref: 'HEAD' });
        const { blob } = await git.readBlob({ fs, dir: repo, oid, filepath: '.datakit-ci.json' });
        detail = blob.length + ' bytes';
      }
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      process.stdout.write(JSON.stringify({ growth: procStatus().VmHWM - before, before, ms, detail }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { env: GIT_ENV, encoding: 'utf8', maxBuffer: 1 << 20 }));
}

await withTmp('dkci-pack-bench-', async (tmp) => {
  const repo = path.join(tmp, 'repo');
  const cacheDir = path.join(tmp, 'cache');
  const t0 = Date.now();
  const packSize = await makeRepo(repo);
  const saved = await saveResults(repo, cacheDir);
  console.log(`(repository with one ${mib(packSize)} pack and ${saved} saved results generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const runs = { idle: [], repoJobs: [], 'isomorphic-git': [] };
  for (let r = 0; r < RUNS; r++) {
    for (const mode of Object.keys(runs)) {
      // The results' keys are cached beside the results repository by the first run: drop them each time.
      fs.rmSync(path.join(repo, '.git', 'datakit-ci', 'keys'), { recursive: true, force: true });
      runs[mode].push(measure(mode, repo, cacheDir));
    }
  }
  assert.equal(runs.repoJobs[0].detail, Array(saved).fill('success').join(','), 'every job queried as a saved success');
  const growth = (mode) => median(runs[mode].map((x) => x.growth));
  const took = (mode) => median(runs[mode].map((x) => x.ms));
  const ours = growth('repoJobs');
  const iso = growth('isomorphic-git');
  console.log(`RepoJobs (HEAD's .datakit-ci.json, ${saved} keys, ${saved} statuses): peak RSS growth ${mib(ours)} median of ${RUNS}, ${took('repoJobs').toFixed(0)} ms — ${verdict(ours <= BUDGET)}`);
  console.log(`isomorphic-git readBlob of .datakit-ci.json at HEAD: peak RSS growth ${mib(iso)} (${(iso / packSize).toFixed(2)}× the pack), ${took('isomorphic-git').toFixed(0)} ms`);
  console.log(`baseline (a fresh process doing nothing): ${mib(growth('idle'))}; RSS after loading the modules ${mib(median(runs.idle.map((x) => x.before)))}`);
  record('packMemory', { packBytes: packSize, repoJobsGrowth: ours, isomorphicGitGrowth: iso, idleGrowth: growth('idle'), repoJobsMs: took('repoJobs'), isomorphicGitMs: took('isomorphic-git') });
});
