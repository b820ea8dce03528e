// The results repository: saving results and looking entries up, against the git CLI doing the same.
// Run after `npx tsc -p tsconfig.test.json`: node bench/store.bench.mjs
// Budgets: (a) save a result with a 10 KB log ≤ 10 ms median and ≤ 0.5× git plumbing;
//          (b) save a 16 MiB log: peak RSS growth ≤ 3× the log size;
//          (c) lookup (head + failure/rebuild-requested existence + one value file), 10,000 loose refs and
//              objects, fresh store: ≤ 2 ms median and ≤ 0.25× spawning git;
//          (d) the same after `git gc` (packed refs and objects): ≤ 3 ms median.
// Ours against isomorphic-git's own API for the same work (no budget: the figures say why the store writes
// and reads as it does, see the comments in src/store/git/looseObjects.ts, objects.ts and refLock.ts):
//          (e) write a blob, a tree, a commit, and a whole save (blob, tree, commit, ref);
//          (f) a lookup from a fresh reader (ref, commit, trees, one file), loose and after `git gc`;
//          (g) two processes saving on one entry at once: updates lost with writeRef, with our compare-and-swap.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ROOT, distFile, git, makeEntries, lcg, median, ms, requireOut, sideBySide, time, verdict, wall } from './lib.mjs';

const { GitStore } = requireOut('store/results/index');
const { ObjectStore } = requireOut('store/git/objects');
const { atomicFs } = requireOut('store/git/looseObjects');
const { Refs } = requireOut('store/git/refLock');
// The same module instance the store loads when it first writes.
const isoGit = createRequire(import.meta.url)(path.join(ROOT, 'node_modules', 'isomorphic-git'));

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

/** A bare repository with its 256 object directories made already (as in any repository used for a while). */
function usedRepo(dir) {
  git(dir, ['init', '-q', '--bare']);
  for (let i = 0; i < 256; i++) {
    fs.mkdirSync(path.join(dir, 'objects', i.toString(16).padStart(2, '0')), { recursive: true });
  }
  return dir;
}

const WRITER_ROUNDS = 200;
const randomId = () => randomBytes(20).toString('hex');
const who = (d) => ({ name: 'DataKit CI', email: 'datakit-ci@localhost', timestamp: Math.floor(d.getTime() / 1000), timezoneOffset: d.getTimezoneOffset() });

/**
 * (e) each kind of object written by our writer (formatted by objectFormat.ts, hashed and deflated with Node,
 * written by isomorphic-git's writeObject) and by isomorphic-git's writeBlob / writeTree / writeCommit (the
 * same atomic `fs`), side by side, each in a repository of its own; new content every round. Both must give
 * the same ids for the same input, or the comparison is void.
 */
async function benchWriters(tmp) {
  const oursDir = usedRepo(path.join(tmp, 'writers-ours'));
  const isoDir = usedRepo(path.join(tmp, 'writers-iso'));
  const ours = new ObjectStore(oursDir);
  const fs_ = atomicFs();
  const started = new Date(1_700_000_000_000);
  const finished = new Date(1_700_000_003_000);
  const message = 'lint @ 1234567: passed in 3.0 s\n\nJob: lint\nRun-Time-Ms: 3000\n';
  const asMap = (entries) => new Map(entries.map((e) => [e.path, { mode: e.mode, oid: e.oid, type: e.type }]));
  const treeOf = (log) => [{ mode: '100644', path: 'log', oid: log, type: 'blob' }, { mode: '100644', path: 'key.json', oid: 'a'.repeat(40), type: 'blob' },
    { mode: '040000', path: 'value', oid: 'b'.repeat(40), type: 'tree' }];
  const isoTree = (log) => isoGit.writeTree({ fs: fs_, gitdir: isoDir, tree: treeOf(log) });
  const isoCommit = (tree, parent) => isoGit.writeCommit({ fs: fs_, gitdir: isoDir, commit: { tree, parent: parent ? [parent] : [], author: who(started), committer: who(finished), message } });
  // Same input, same id.
  const blob = Buffer.from(`${LOG_10K}same\n`);
  const log = await ours.writeBlob(blob);
  const same = log === await isoGit.writeBlob({ fs: fs_, gitdir: isoDir, blob })
    && await ours.writeTree(asMap(treeOf(log)).set('value', { mode: '40000', oid: 'b'.repeat(40), type: 'tree' })) === await isoTree(log)
    && await ours.writeCommit(log, [log], message, started, finished) === await isoCommit(log, log);
  let n = 0;
  const kinds = {
    blob: { ours: () => ours.writeBlob(Buffer.from(`${LOG_10K}${n++}\n`)), iso: () => isoGit.writeBlob({ fs: fs_, gitdir: isoDir, blob: Buffer.from(`${LOG_10K}${n++}\n`) }) },
    tree: { ours: () => ours.writeTree(asMap(treeOf(randomId())).set('value', { mode: '40000', oid: 'b'.repeat(40), type: 'tree' })), iso: () => isoTree(randomId()) },
    commit: { ours: () => ours.writeCommit(randomId(), [randomId()], message, started, finished), iso: () => isoCommit(randomId(), randomId()) },
  };
  const lines = [`(e) write one object, ${WRITER_ROUNDS} rounds side by side (same ids for the same input: ${same ? 'yes' : 'NO'}):`];
  for (const [kind, c] of Object.entries(kinds)) {
    const t = await sideBySide({ ours: c.ours, 'isomorphic-git': c.iso }, WRITER_ROUNDS);
    lines.push(`    ${kind.padEnd(6)} ours ${ms(median(t.ours))}, isomorphic-git write${kind[0].toUpperCase()}${kind.slice(1)} ${ms(median(t['isomorphic-git']))}; ratio ${(median(t['isomorphic-git']) / median(t.ours)).toFixed(2)}`);
  }
  lines.push(await benchWholeSave(tmp));
  return lines.join('\n');
}

/** (e) a whole save each way: a 10 KB log blob, its tree, a commit on the entry's head, our ref compare-and-swap. */
async function benchWholeSave(tmp) {
  const oursDir = usedRepo(path.join(tmp, 'save-ours'));
  const isoDir = usedRepo(path.join(tmp, 'save-iso'));
  const ours = new ObjectStore(oursDir);
  const [oursRefs, isoRefs] = [new Refs(oursDir), new Refs(isoDir)];
  const store = await GitStore.open({ resultsDir: path.join(tmp, 'save-tx') });
  const fs_ = atomicFs();
  const ref = 'refs/heads/bench/save';
  let n = 0;
  const t = await sideBySide({
    ours: async () => {
      const head = await oursRefs.resolve(ref);
      const log = await ours.writeBlob(Buffer.from(`${LOG_10K}${n++}\n`));
      const tree = await ours.writeTree(new Map([['log', { mode: '100644', oid: log, type: 'blob' }]]));
      const d = new Date();
      await oursRefs.compareAndSwap(ref, head, await ours.writeCommit(tree, head ? [head] : [], 'Cached successful result', d, d));
    },
    'isomorphic-git': async () => {
      const head = await isoRefs.resolve(ref);
      const log = await isoGit.writeBlob({ fs: fs_, gitdir: isoDir, blob: Buffer.from(`${LOG_10K}${n++}\n`) });
      const tree = await isoGit.writeTree({ fs: fs_, gitdir: isoDir, tree: [{ mode: '100644', path: 'log', oid: log, type: 'blob' }] });
      const d = new Date();
      const commit = await isoGit.writeCommit({ fs: fs_, gitdir: isoDir, commit: { tree, parent: head ? [head] : [], author: who(d), committer: who(d), message: 'Cached successful result' } });
      await isoRefs.compareAndSwap(ref, head, commit);
    },
    'store transaction': async () => {
      const tx = store.begin('bench', 'save');
      await tx.writeFile('log', `${LOG_10K}${n++}\n`);
      await tx.commit('Cached successful result');
    },
  }, WRITER_ROUNDS);
  const [a, b, c] = [median(t.ours), median(t['isomorphic-git']), median(t['store transaction'])];
  return `    whole save (blob, tree, commit, ref): ours ${ms(a)}, with isomorphic-git's writeBlob/writeTree/writeCommit ${ms(b)}; ratio ${(b / a).toFixed(2)} (GitStore transaction ${ms(c)})`;
}

const READ_ROUNDS = 20;

/**
 * (f) a lookup as a new process makes it (a fresh reader each round): the entry's ref, its commit, trees and
 * value/out.txt — through a GitStore opened to read, and through isomorphic-git's resolveRef + readBlob
 * with a fresh cache.
 */
async function benchReaders(dir, label) {
  const next = lcg(7);
  const t = await sideBySide({
    ours: async () => {
      const store = await GitStore.open({ resultsDir: dir, create: false });
      const snap = await store.head('bench', `e${next(ENTRIES)}`);
      await snap.readFile('value/out.txt');
    },
    'isomorphic-git': async () => {
      const cache = {};
      const oid = await isoGit.resolveRef({ fs, gitdir: dir, ref: `refs/heads/bench/e${next(ENTRIES)}` });
      await isoGit.readBlob({ fs, gitdir: dir, oid, filepath: 'value/out.txt', cache });
    },
  }, READ_ROUNDS);
  const [a, b] = [median(t.ours), median(t['isomorphic-git'])];
  return `${label}: ours ${ms(a)}, isomorphic-git resolveRef + readBlob ${ms(b)}; ratio ${(b / a).toFixed(2)} (${READ_ROUNDS} rounds, fresh reader each)`;
}

/** (f) what reading would pay first to read with isomorphic-git: loading its bundle, in a new process. */
async function benchBundleLoad() {
  const bundle = distFile('isomorphic-git.js');
  const t = await sideBySide({
    node: async () => wall(process.execPath, ['-e', '0']),
    load: async () => wall(process.execPath, ['-e', `require(${JSON.stringify(bundle)})`]),
  }, 15);
  const [a, b] = [median(t.node), median(t.load)];
  return `(f) loading dist/isomorphic-git.js (${(fs.statSync(bundle).size / 1024).toFixed(0)} KB) in a new process: ${ms(b)}, \`node -e 0\` ${ms(a)}; +${ms(b - a)}`;
}

const RACE_ROUNDS = 150;

/**
 * (g) two processes, each RACE_ROUNDS times: read the entry's head, write a commit on it, move the ref — with
 * isomorphic-git's writeRef, and with the store's transaction (compare-and-swap under git's lock protocol).
 * What the branch's first-parent history holds at the end, against what was written.
 */
async function benchRace(tmp) {
  const child = (mode, dir) => {
    const script = `
      const fs = require('fs');
      const git = require(${JSON.stringify(path.join(ROOT, 'node_modules/isomorphic-git'))});
      const { GitStore } = require(${JSON.stringify(path.join(ROOT, 'out/src/store/results/index.js'))});
      (async () => {
        const gitdir = ${JSON.stringify(dir)};
        const ref = 'refs/heads/race/e';
        const store = await GitStore.open({ resultsDir: gitdir });
        let errors = 0;
        for (let i = 0; i < ${RACE_ROUNDS}; i++) {
          try {
            if (${JSON.stringify(mode)} === 'ours') {
              const tx = store.begin('race', 'e'); await tx.writeFile('n', process.pid + ' ' + i); await tx.commit('round ' + i);
            } else {
              const head = await git.resolveRef({ fs, gitdir, ref }).catch((e) => { if (e.code === 'NotFoundError') return undefined; throw e; });
              const who = { name: 'T', email: 't@example.invalid', timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
              const tree = await git.writeTree({ fs, gitdir, tree: [] });
              const commit = await git.writeCommit({ fs, gitdir, commit: { tree, parent: head ? [head] : [], author: who, committer: who, message: process.pid + ' round ' + i } });
              await git.writeRef({ fs, gitdir, ref, value: commit, force: true });
            }
          } catch { errors++; }
        }
        process.stdout.write(JSON.stringify({ errors }));
      })();`;
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (b) => { out += b; });
      p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${mode} child exited ${code}`))));
    });
  };
  const lines = [`(g) two processes × ${RACE_ROUNDS} saves on one entry:`];
  for (const mode of ['isomorphic-git', 'ours']) {
    const dir = path.join(tmp, `race-${mode}`);
    await GitStore.open({ resultsDir: dir });
    const results = await Promise.all([child(mode, dir), child(mode, dir)]);
    const errors = results.reduce((s, r) => s + r.errors, 0);
    const kept = Number(git(dir, ['rev-list', '--count', '--first-parent', 'refs/heads/race/e']));
    const written = 2 * RACE_ROUNDS - errors;
    lines.push(`    ${mode === 'ours' ? 'store transaction (compare-and-swap)' : 'isomorphic-git writeRef'}: ${written - kept} of ${written} updates lost, ${errors} rounds failed`);
  }
  return lines.join('\n');
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
const parts = process.argv.length > 2 ? process.argv.slice(2) : ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-store-bench-'));
try {
  if (parts.includes('a')) {
    console.log(await benchSave(tmp));
  }
  if (parts.includes('b')) {
    console.log(benchBigLog(tmp));
  }
  if (parts.includes('e')) {
    console.log(await benchWriters(tmp));
  }
  if (['c', 'd', 'f'].some((p) => parts.includes(p))) {
    const dir = path.join(tmp, 'entries');
    const t0 = Date.now();
    makeEntries(dir, ENTRIES);
    console.log(`(${ENTRIES} entries generated in ${Date.now() - t0} ms)`);
    if (parts.includes('c')) {
      console.log(await benchLookups(dir, `(c) lookup among ${ENTRIES} loose refs and objects`, 2));
    }
    if (parts.includes('f')) {
      console.log(await benchReaders(dir, `(f) lookup from a fresh reader, ${ENTRIES} loose entries`));
    }
    git(dir, ['gc', '--quiet']);
    if (parts.includes('d')) {
      console.log(await benchLookups(dir, '(d) the same after git gc (packed refs and objects)', 3));
    }
    if (parts.includes('f')) {
      console.log(await benchReaders(dir, '(f) the same after git gc'));
      console.log(await benchBundleLoad());
    }
  }
  if (parts.includes('g')) {
    console.log(await benchRace(tmp));
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
