// The results repository: saving results and looking entries up, against the git CLI doing the same.
// Run after `npx tsc -p tsconfig.test.json`: node bench/store.bench.mjs
// Budgets: (a) save a result with a 10 KB log ≤ 10 ms median and ≤ 0.5× git plumbing;
//          (b) save a 16 MiB log: peak RSS growth ≤ 3× the log size;
//          (c) lookup (head + failure/rebuild-requested existence + one value file), 10,000 loose refs and
//              objects, fresh store: ≤ 2 ms median and ≤ 0.25× spawning git;
//          (d) the same after `git gc` (packed refs and objects): ≤ 3 ms median.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, git, makeEntries, lcg, median, ms, requireOut, time, verdict } from './lib.mjs';

const { GitStore } = requireOut('store/results/index');

const SAVES = 60;
const ENTRIES = 10_000;
const LOOKUPS = 2000;
const GIT_LOOKUPS = 200;
const LOG_10K = 'x'.repeat(80).concat('\n').repeat(124) + 'tail\n';

/**
 * (a) one result: blob, tree, commit, ref — through the store and through git plumbing, interleaved, each in
 * its own repository whose 256 object directories exist already (as in any repository used for a while).
 */
async function benchSave(tmp) {
  const store = await GitStore.open({ resultsDir: path.join(tmp, 'save-store') });
  const gitDir = path.join(tmp, 'save-git');
  git(gitDir, ['init', '-q', '--bare']);
  for (const dir of [store.dir, gitDir]) {
    for (let i = 0; i < 256; i++) {
      fs.mkdirSync(path.join(dir, 'objects', i.toString(16).padStart(2, '0')), { recursive: true });
    }
  }
  const ours = [];
  const theirs = [];
  // git gets the parent for free (kept from its last round); its update-ref checks the old value too.
  let parent;
  for (let i = 0; i < SAVES; i++) {
    ours.push(await time(async () => {
      const tx = store.begin('bench', 'save');
      await tx.writeFile('log', `${LOG_10K}${i}\n`);
      await tx.commit('Cached successful result');
    }));
    if (i % 2 === 0) {
      theirs.push(await time(async () => {
        const blob = git(gitDir, ['hash-object', '-w', '--stdin'], `${LOG_10K}${i}\n`);
        const tree = git(gitDir, ['mktree'], `100644 blob ${blob}\tlog\n`);
        const commit = git(gitDir, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', 'Cached successful result']);
        git(gitDir, ['update-ref', 'refs/heads/bench/save', commit, parent ?? '']);
        parent = commit;
      }));
    }
  }
  const a = median(ours);
  const b = median(theirs);
  return `(a) save a 10 KB result: store ${ms(a)} median, git plumbing (hash-object, mktree, commit-tree, update-ref) ${ms(b)}; ratio ${(a / b).toFixed(2)} — ${verdict(a <= 10 && a <= 0.5 * b)}`;
}

/** (b) a 16 MiB log, in fresh child processes: through the store, and through isomorphic-git's writeBlob. */
function benchBigLog(tmp) {
  const child = (mode) => {
    const script = `
      const fs = require('fs');
      const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n').filter((l) => l.startsWith('Vm')).map((l) => [l.split(':')[0], Number(l.split(/\\s+/)[1]) * 1024]));
      (async () => {
        const dir = ${JSON.stringify(path.join(tmp, 'big'))} + '-' + ${JSON.stringify(mode)};
        const { GitStore } = require(${JSON.stringify(path.join(ROOT, 'out/src/store/results/index.js'))});
        const git = require(${JSON.stringify(path.join(ROOT, 'node_modules/isomorphic-git'))});
        const store = await GitStore.open({ resultsDir: dir });
        const warm = store.begin('b', 'warm'); await warm.writeFile('log', 'x'); await warm.commit('warm');
        await git.writeBlob({ fs, gitdir: dir, blob: Buffer.from('warm') });
        const log = Buffer.alloc(16 << 20);
        for (let i = 0; i < log.length; i += 64) log.write((i * 2654435761 % 4294967296).toString(36).padEnd(63, '.') + '\\n', i);
        global.gc?.();
        fs.writeFileSync('/proc/self/clear_refs', '5');
        const before = status().VmRSS;
        const t = Date.now();
        if (${JSON.stringify(mode)} === 'store') {
          const tx = store.begin('b', 'big'); await tx.writeFile('log', log); await tx.commit('big');
        } else {
          await git.writeBlob({ fs, gitdir: dir, blob: log });
        }
        process.stdout.write(JSON.stringify({ growth: status().VmHWM - before, ms: Date.now() - t }));
      })();`;
    return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }));
  };
  const ours = child('store');
  const iso = child('isomorphic-git');
  const size = 16 << 20;
  const x = (r) => `${(r.growth / size).toFixed(2)}× (${(r.growth / 1048576).toFixed(1)} MiB, ${r.ms} ms)`;
  return `(b) save a 16 MiB log: peak RSS growth store ${x(ours)}, isomorphic-git writeBlob alone ${x(iso)} — ${verdict(ours.growth <= 3 * size)}`;
}

async function benchLookups(dir, label, budget) {
  const store = await GitStore.open({ resultsDir: dir });
  const next = lcg(42);
  const pick = () => `e${next(ENTRIES)}`;
  const ours = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const entry = pick();
    ours.push(await time(async () => {
      const snap = await store.head('bench', entry);
      await snap.exists('failure');
      await snap.exists('rebuild-requested');
      await snap.readFile('value/out.txt');
    }));
  }
  const theirs = [];
  for (let i = 0; i < GIT_LOOKUPS; i++) {
    const entry = pick();
    theirs.push(await time(async () => {
      const commit = git(dir, ['rev-parse', `refs/heads/bench/${entry}`]);
      git(dir, ['cat-file', '--batch'], `${commit}:failure\n${commit}:rebuild-requested\n${commit}:value/out.txt\n`);
    }));
  }
  const a = median(ours);
  const b = median(theirs);
  const max = Math.max(...ours);
  return `${label}: store ${ms(a)} median (first/max ${ms(ours[0])}/${ms(max)}), git rev-parse + cat-file --batch ${ms(b)}; ratio ${(a / b).toFixed(2)} — ${verdict(a <= budget && (budget > 2 || a <= 0.25 * b))}`;
}

// `node bench/store.bench.mjs a c` runs only those parts.
const parts = process.argv.length > 2 ? process.argv.slice(2) : ['a', 'b', 'c', 'd'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-store-bench-'));
try {
  if (parts.includes('a')) {
    console.log(await benchSave(tmp));
  }
  if (parts.includes('b')) {
    console.log(benchBigLog(tmp));
  }
  if (parts.includes('c') || parts.includes('d')) {
    const dir = path.join(tmp, 'entries');
    const t0 = Date.now();
    makeEntries(dir, ENTRIES);
    console.log(`(${ENTRIES} entries generated in ${Date.now() - t0} ms)`);
    if (parts.includes('c')) {
      console.log(await benchLookups(dir, `(c) lookup among ${ENTRIES} loose refs and objects`, 2));
    }
    if (parts.includes('d')) {
      git(dir, ['gc', '--quiet']);
      console.log(await benchLookups(dir, '(d) the same after git gc (packed refs and objects)', 3));
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
