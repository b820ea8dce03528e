// The build cache (BuildCache over a GitStore): hits in memory and in the results repository, a thundering
// herd on one missing key, and a save end to end.
// Run after `npx tsc -p tsconfig.test.json`: node bench/cache.bench.mjs [a b c d e]
// Budgets: (a) in-memory hit ≤ 20 µs median per lookup;
//          (b) store hit from a fresh BuildCache, 10,000 entries as loose refs and objects: ≤ 2 ms median and
//              ≤ 0.25× spawning git (rev-parse + cat-file --batch) for the same reads;
//          (c) the same after `git gc` (packed refs and objects): ≤ 3 ms median;
//          (d) 1,000 concurrent lookups of one missing key: exactly one generate (asserted), total time shown;
//          (e) save a result with a 10 KB log end to end (no budget; the store bench has the store's).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  entryKind, git, lcg, makeEntries, median, ms, record, requireOut, sideBySide, time, us, verdict, withTmp,
} from './lib.mjs';

const { BuildCache } = requireOut('engine/cache');
const { LogManager } = requireOut('engine/liveLog');
const { GitStore } = requireOut('store/results/gitStore');

const ENTRIES = 10_000;
const MEMORY_BATCHES = 200;
const MEMORY_BATCH = 1000;
const STORE_ROUNDS = 600;
// The slower contestants run every 2nd (store opened anew) and every 4th (git spawned) round.
const GIT_EVERY = 4;
const HERD = 1000;
const HERD_ROUNDS = 7;
const SAVE_ROUNDS = 40;
const LOG_10K = 'x'.repeat(80).concat('\n').repeat(124) + 'tail\n';

/** A builder over the generated entries (`refs/heads/bench/<key>`): `load` reads value/out.txt. */
class BenchBuilder {
  name = 'bench';
  generated = 0;
  constructor(log = '') { this.log = log; }
  title(key) { return `Build ${key}`; }
  branch(key) { return key; }
  async generate({ key, log, tx }) {
    this.generated++;
    if (this.log) { log.write(this.log); }
    await tx.writeFile('value/out.txt', `value of ${key}\n`);
    return `value of ${key}\n`;
  }
  async load(entry) {
    return Buffer.from(await entry.readFile('value/out.txt')).toString('utf8');
  }
}

const newCache = (store, builder = new BenchBuilder()) => new BuildCache(builder, { store, logs: new LogManager() });

async function final(cache, key) {
  let s = await cache.lookup(undefined, key);
  while (s.result.kind === 'pending') {
    await s.result.changed;
    s = await cache.lookup(undefined, key);
  }
  return s;
}

/** (a) a finished key, looked up again and again: batches of calls, median per call. */
async function benchMemory(tmp) {
  const store = await GitStore.open({ resultsDir: path.join(tmp, 'memory') });
  const cache = newCache(store);
  const done = await final(cache, 'k');
  assert.equal(done.result.kind, 'success');
  const map = new Map([['k', done]]);
  // Baseline: the least any async lookup can cost, an awaited Map.get.
  const bare = async (k) => map.get(k);
  const times = await sideBySide({
    cache: async () => { for (let i = 0; i < MEMORY_BATCH; i++) { await cache.lookup(undefined, 'k'); } },
    map: async () => { for (let i = 0; i < MEMORY_BATCH; i++) { await bare('k'); } },
  }, MEMORY_BATCHES);
  const a = median(times.cache) / MEMORY_BATCH;
  const b = median(times.map) / MEMORY_BATCH;
  return {
    figures: { memoryHitUs: a * 1000, awaitedMapGetUs: b * 1000 },
    line: `(a) in-memory hit: ${us(a)} median per lookup (${MEMORY_BATCHES} batches of ${MEMORY_BATCH}); awaited Map.get ${us(b)}; ratio ${(a / b).toFixed(1)} — ${verdict(a <= 0.02)}`,
  };
}

/**
 * (b, c) each round: a new BuildCache and LogManager over the store opened once (as a session keeps it),
 * and — as a second figure — over a store opened anew; against git rev-parse + cat-file --batch spawned
 * for the same three reads (rebuild-requested, failure, value/out.txt), interleaved.
 */
async function benchStore(dir, label, budget) {
  const successes = [];
  for (let i = 0; i < ENTRIES; i++) { if (entryKind(i) === 'success') { successes.push(`e${i}`); } }
  const next = lcg(7);
  const pick = () => successes[next(successes.length)];
  const store = await GitStore.open({ resultsDir: dir });
  const check = (s, key) => assert.equal(s.result.kind === 'success' && s.result.value, `value of ${key}\n`);
  const first = await time(async () => { const k = pick(); check(await newCache(store).lookup(undefined, k), k); });
  const once = [];
  const fresh = [];
  const spawned = [];
  for (let r = 0; r < STORE_ROUNDS; r++) {
    once.push(await time(async () => { const k = pick(); check(await newCache(store).lookup(undefined, k), k); }));
    if (r % 2 === 0) {
      fresh.push(await time(async () => {
        const k = pick();
        check(await newCache(await GitStore.open({ resultsDir: dir })).lookup(undefined, k), k);
      }));
    }
    if (r % GIT_EVERY === 0) {
      spawned.push(await time(async () => {
        const k = pick();
        const commit = git(dir, ['rev-parse', `refs/heads/bench/${k}`]);
        const out = git(dir, ['cat-file', '--batch'], `${commit}:rebuild-requested\n${commit}:failure\n${commit}:value/out.txt\n`);
        assert.ok(out.endsWith(`value of ${k}`));
      }));
    }
  }
  const a = median(once);
  const b = median(fresh);
  const g = median(spawned);
  const ok = a <= budget && (budget > 2 || a <= 0.25 * g);
  return {
    figures: { storeOpenedOnceMs: a, storeOpenedPerRoundMs: b, gitSpawnMs: g, firstMs: first },
    line: `${label}: fresh BuildCache, store opened once ${ms(a)} median (first lookup ${ms(first)}, slowest of the rest ${ms(Math.max(...once))}); store opened per round ${ms(b)}; git rev-parse + cat-file --batch ${ms(g)}; ratio ${(a / g).toFixed(2)} — ${verdict(ok)}`,
  };
}

/** (d) HERD concurrent lookups of one missing key on a fresh cache: one generate, all see the pending status. */
async function benchHerd(tmp) {
  const store = await GitStore.open({ resultsDir: path.join(tmp, 'herd') });
  const lookups = [];
  const totals = [];
  const counts = [];
  for (let r = 0; r < HERD_ROUNDS; r++) {
    const builder = new BenchBuilder();
    const cache = newCache(store, builder);
    const key = `herd${r}`;
    const t0 = process.hrtime.bigint();
    const all = await Promise.all(Array.from({ length: HERD }, () => cache.lookup(undefined, key)));
    const t1 = process.hrtime.bigint();
    assert.ok(all.every((s) => s === all[0] && s.result.kind === 'pending'), 'every lookup sees the one pending status');
    const done = await final(cache, key);
    const t2 = process.hrtime.bigint();
    assert.equal(done.output.kind, 'saved');
    assert.equal(builder.generated, 1, 'exactly one generate');
    counts.push(builder.generated);
    lookups.push(Number(t1 - t0) / 1e6);
    totals.push(Number(t2 - t0) / 1e6);
  }
  return {
    figures: { herdLookupsMs: median(lookups), herdTotalMs: median(totals), generates: counts },
    line: `(d) ${HERD} concurrent lookups of one missing key: generate called ${counts.join(', ')} time(s) over ${HERD_ROUNDS} rounds; all ${HERD} returned pending in ${ms(median(lookups))} median, saved result ${ms(median(totals))} median after the first call`,
  };
}

/** (e) lookup of a new key to its saved result, with a 10 KB log, against the same commit by the store alone. */
async function benchSave(tmp) {
  const store = await GitStore.open({ resultsDir: path.join(tmp, 'save') });
  // As in any results repository used for a while, the 256 object directories exist already.
  for (let i = 0; i < 256; i++) { fs.mkdirSync(path.join(store.dir, 'objects', i.toString(16).padStart(2, '0')), { recursive: true }); }
  const builder = new BenchBuilder(LOG_10K);
  const cache = newCache(store, builder);
  let n = 0;
  await final(cache, 'warm');
  const times = await sideBySide({
    cache: async () => {
      const s = await final(cache, `save${n++}`);
      assert.equal(s.output.kind, 'saved');
    },
    // The same objects, all new: a value blob, a 10 KB log blob, two trees, a commit, a new ref.
    store: async () => {
      const key = `save${n++}`;
      const tx = store.begin('raw', key);
      await tx.writeFile('value/out.txt', `value of ${key}\n`);
      await tx.writeFile('log', `${LOG_10K}${key}\n`);
      await tx.commit('Cached successful result');
    },
  }, SAVE_ROUNDS);
  const a = median(times.cache);
  const b = median(times.store);
  return {
    figures: { saveMs: a, storeTransactionMs: b },
    line: `(e) save with a 10 KB log end to end (lookup → saved): ${ms(a)} median; the store transaction alone (value + log + commit) ${ms(b)}; ratio ${(a / b).toFixed(2)}`,
  };
}

const parts = process.argv.length > 2 ? process.argv.slice(2) : ['a', 'b', 'c', 'd', 'e'];
await withTmp('dkci-cache-bench-', async (tmp) => {
  const figures = {};
  const report = ({ figures: f, line }, name) => { figures[name] = f; console.log(line); };
  if (parts.includes('a')) { report(await benchMemory(tmp), 'memory'); }
  if (parts.includes('b') || parts.includes('c')) {
    const dir = path.join(tmp, 'entries');
    const t0 = Date.now();
    makeEntries(dir, ENTRIES);
    console.log(`(${ENTRIES} entries generated in ${Date.now() - t0} ms)`);
    if (parts.includes('b')) { report(await benchStore(dir, `(b) store hit among ${ENTRIES} loose refs and objects`, 2), 'storeLoose'); }
    if (parts.includes('c')) {
      git(dir, ['gc', '--quiet']);
      report(await benchStore(dir, '(c) the same after git gc (packed refs and objects)', 3), 'storePacked');
    }
  }
  if (parts.includes('d')) { report(await benchHerd(tmp), 'herd'); }
  if (parts.includes('e')) { report(await benchSave(tmp), 'save'); }
  record('cache', figures);
});
