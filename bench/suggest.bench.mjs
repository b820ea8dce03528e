// Zero configuration (issue 12): the jobs suggested for a generated npm-workspaces monorepo of 50 packages
// (each with build, lint and test scripts; each depending on the one before), (a) in process, against a
// baseline that reads the same 51 package.json files with plain fs.readFileSync + JSON.parse, side by side;
// (b) the whole `datakit-ci init --print` process against `node -e 0`.
// Run after `npm run build` and `npx tsc -p tsconfig.test.json`: node bench/suggest.bench.mjs [rounds, default 50]
// Budget: (a) ≤ 200 ms median.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { distFile, gitIn, median, ms, record, requireOut, sideBySide, verdict, wall, withTmp } from './lib.mjs';

const { suggestJobs } = requireOut('jobs/suggest/suggest');
const { parseConfig } = requireOut('jobs/config/config');

const ROUNDS = Number(process.argv[2] ?? 50);
const PACKAGES = 50;

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** The monorepo: a root with workspaces ["packages/*"], a lockfile, a tsconfig, and 50 packages. */
function makeMonorepo(dir) {
  write(path.join(dir, 'package.json'), JSON.stringify({ private: true, workspaces: ['packages/*'], scripts: { test: 'npm test --workspaces' } }, null, 2));
  write(path.join(dir, 'package-lock.json'), '{}\n');
  write(path.join(dir, 'tsconfig.json'), '{}\n');
  for (let i = 0; i < PACKAGES; i++) {
    const deps = i > 0 ? { [`@bench/p${i - 1}`]: '1.0.0' } : {};
    write(path.join(dir, 'packages', `p${i}`, 'package.json'), JSON.stringify({
      name: `@bench/p${i}`, version: '1.0.0', dependencies: { ...deps, lodash: '4.17.21' },
      scripts: { build: 'tsc -b', lint: 'eslint .', test: 'node --test', start: 'node .' },
    }, null, 2));
    write(path.join(dir, 'packages', `p${i}`, 'src', 'index.ts'), `export const p${i} = ${i};\n`);
  }
  gitIn(dir, ['init', '-q', '-b', 'main']);
}

/** The baseline: the 51 package.json files read and parsed, nothing else. */
function readAll(dir) {
  const files = ['package.json', ...fs.readdirSync(path.join(dir, 'packages')).map((p) => `packages/${p}/package.json`)];
  return files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

await withTmp('dkci-suggest-bench-', async (tmp) => {
  const repo = path.join(tmp, 'mono');
  makeMonorepo(repo);
  const first = await suggestJobs(repo);
  assert.equal(first.jobs.length, 1 + 3 * PACKAGES);
  assert.deepEqual(first.skipped, []);
  assert.ok(parseConfig(first.text).ok);
  assert.equal(readAll(repo).length, PACKAGES + 1);

  const times = await sideBySide({
    suggest: async () => { assert.equal((await suggestJobs(repo)).jobs.length, 1 + 3 * PACKAGES); },
    readParse: () => { assert.equal(readAll(repo).length, PACKAGES + 1); },
  }, ROUNDS);
  const m = { suggest: median(times.suggest), readParse: median(times.readParse) };
  console.log(`(a) suggested jobs of a 50-package npm workspace (151 jobs) — median of ${ROUNDS}`);
  console.log(`    suggestJobs: ${ms(m.suggest)} — ${verdict(m.suggest <= 200)} (ratio to the baseline ${(m.suggest / m.readParse).toFixed(2)})`);
  console.log(`    baseline, 51 × readFileSync + JSON.parse: ${ms(m.readParse)}`);

  const cli = distFile('cli.js');
  const processRounds = Math.min(ROUNDS, 20);
  const whole = await sideBySide({
    init: () => wall(process.execPath, [cli, 'init', '--print'], { cwd: repo, env: { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') } }),
    node: () => wall(process.execPath, ['-e', '0']),
  }, processRounds);
  const w = { init: median(whole.init), node: median(whole.node) };
  console.log(`(b) \`datakit-ci init --print\`, whole process — median of ${processRounds}: ${ms(w.init)}; \`node -e 0\` ${ms(w.node)}`);
  record('suggest', { rounds: ROUNDS, suggestMs: m, processMs: w });
});
