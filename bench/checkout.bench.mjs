// Reading the user's repository and refreshing build directories, on a repository of 10,000 files.
// Run after `npx tsc -p tsconfig.test.json`: node bench/checkout.bench.mjs
// Budgets: (a) object ids of 10 jobs × 3 input paths ≤ 5 ms median (warm cat-file process);
//          (b) refreshing a build directory across a commit that changes 1 file of 10,000 ≤ 50 ms median.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitIn } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { SourceRepo } = require(path.join(ROOT, 'out/src/store/source/sourceRepo.js'));
const { prepareBuildDir } = require(path.join(ROOT, 'out/src/jobs/run/checkout.js'));

const DIRS = 100;
const PER_DIR = 100;
const RUNS_IDS = 300;
const RUNS_CHECKOUT = 40;

/** Two commits of DIRS × PER_DIR files, the second changing one file, written with git fast-import. */
function makeRepo(dir) {
  gitIn(path.dirname(dir), ['init', '-q', '-b', 'main', dir]);
  const parts = [];
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const who = 'committer Bench <bench@example.invalid> 1700000000 +0000\n';
  parts.push(`commit refs/heads/main\nmark :1\n${who}${data('first')}`);
  for (let d = 0; d < DIRS; d++) {
    for (let f = 0; f < PER_DIR; f++) {
      parts.push(`M 100644 inline src/d${d}/f${f}.txt\n${data(`file ${d}/${f}\n`)}`);
    }
  }
  parts.push(`M 100644 inline package.json\n${data('{}\n')}`);
  parts.push(`commit refs/heads/main\nmark :2\n${who}${data('second')}from :1\n`);
  parts.push(`M 100644 inline src/d42/f42.txt\n${data('changed\n')}\n`);
  gitIn(dir, ['fast-import', '--quiet'], parts.join(''));
  const rev = (r) => gitIn(dir, ['rev-parse', r]);
  return { first: rev('main~1'), second: rev('main') };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-bench-'));
try {
  const dir = path.join(tmp, 'repo');
  const { first, second } = makeRepo(dir);
  const jobs = Array.from({ length: 10 }, (_, j) => [`src/d${j * 7}`, `src/d${j * 7 + 1}/f${j}.txt`, 'package.json']);
  const lines = [];

  for (const [label, cacheSize] of [['uncached', 0], ['cached by commit', undefined]]) {
    const repo = await SourceRepo.open(dir, { cacheSize });
    await Promise.all(jobs.map((paths) => repo.objectIds(second, paths))); // starts the process
    const times = [];
    for (let i = 0; i < RUNS_IDS; i++) {
      times.push(await time(() => Promise.all(jobs.map((paths) => repo.objectIds(i % 2 ? first : second, paths)))));
    }
    repo.dispose();
    lines.push(`(a) object ids, 10 jobs x 3 paths, ${label}: median ${median(times).toFixed(2)} ms over ${RUNS_IDS} runs (budget 5 ms)`);
  }

  const repo = await SourceRepo.open(dir);
  const root = path.join(tmp, 'cache');
  const full = await time(async () => (await prepareBuildDir({ repo, commit: first, job: 'build', root })).release());
  const times = [];
  for (let i = 0; i < RUNS_CHECKOUT; i++) {
    const commit = i % 2 ? first : second;
    times.push(await time(async () => (await prepareBuildDir({ repo, commit, job: 'build', root })).release()));
  }
  repo.dispose();
  lines.push(`(b) build directory refresh, 1 of ${DIRS * PER_DIR + 1} files changed: median ${median(times).toFixed(1)} ms over ${RUNS_CHECKOUT} runs (budget 50 ms); first full checkout ${full.toFixed(0)} ms`);
  console.log(lines.join('\n'));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
