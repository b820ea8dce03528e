// A generated npm-workspaces monorepo with real dependencies from the npm registry, built from nothing:
//   (a) every job cold (`datakit-ci build`: the setup's `npm ci` once, then 8 jobs in their checkouts)
//       against one `npm ci` in the working tree plus turbo's cold `turbo run build test` of the same 8 tasks;
//   (b) the disk used by the build directories and the dependencies folder against the working tree's
//       node_modules;
//   (c) starting a job's checkout with 20,000 dependency files in place: `datakit-ci rebuild` then `build` of a job
//       that has the setup's products against the same job with `"setup": false`, in a fresh build
//       directory and in one used before.
// Run after `npm run build`: node bench/monorepo.bench.mjs [rounds of (a), default 3] [rounds of (c), default 10]
// The npm cache (in the temp dir) is filled once before the rounds: what is measured is installing and
// building, not downloading. turbo is installed once into bench/results/turbo/ as by turbo.bench.mjs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitIn, median, ms, record, sideBySide, verdict, wall, withTurbo } from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 3);
const START_ROUNDS = Number(process.argv[3] ?? 10);
const DEP_FILES = 20_000;

/** The four packages: what each depends on (registry packages and workspace siblings). */
const PACKAGES = {
  core: { deps: { zod: '3.23.8' }, uses: [] },
  utils: { deps: { lodash: '4.17.21', semver: '7.6.3' }, uses: [] },
  api: { deps: { ms: '2.1.3' }, uses: ['core', 'utils'] },
  web: { deps: { picocolors: '1.1.1' }, uses: ['api'] },
};

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const json = (v) => `${JSON.stringify(v, null, 2)}\n`;

/** The monorepo, committed, with its package-lock.json (made by one `npm install`, which fills the npm cache). */
function makeMonorepo(dir, env, turboVersion) {
  gitIn(dir, ['init', '-q', '-b', 'main']);
  const npmVersion = execFileSync('npm', ['--version'], { env, encoding: 'utf8' }).trim();
  write(path.join(dir, 'package.json'), json({
    name: 'bench-monorepo', private: true, packageManager: `npm@${npmVersion}`, workspaces: ['packages/*'],
    devDependencies: { typescript: '5.6.3', turbo: turboVersion, '@types/lodash': '4.17.13', '@types/semver': '7.5.8', '@types/ms': '0.7.34' },
  }));
  write(path.join(dir, 'tsconfig.base.json'), json({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, declaration: true, esModuleInterop: true, skipLibCheck: true } }));
  write(path.join(dir, 'turbo.json'), json({ tasks: { build: { dependsOn: ['^build'], outputs: ['dist/**'] }, test: { dependsOn: ['build'] } } }));
  write(path.join(dir, '.gitignore'), 'node_modules\ndist\n.turbo\n');
  const jobs = {};
  for (const [name, p] of Object.entries(PACKAGES)) {
    const pkg = path.join(dir, 'packages', name);
    const deps = { ...p.deps, ...Object.fromEntries(p.uses.map((u) => [`@bench/${u}`, '*'])) };
    write(path.join(pkg, 'package.json'), json({
      name: `@bench/${name}`, version: '1.0.0', main: 'dist/index.js', types: 'dist/index.d.ts',
      scripts: { build: 'tsc -p .', test: 'node --test test/' }, dependencies: deps,
    }));
    write(path.join(pkg, 'tsconfig.json'), json({ extends: '../../tsconfig.base.json', compilerOptions: { outDir: 'dist', rootDir: 'src' }, include: ['src'] }));
    const imports = [
      ...Object.keys(p.deps).map((d, i) => `import d${i} = require('${d}');`),
      ...p.uses.map((u) => `import { describe as ${u} } from '@bench/${u}';`),
    ];
    const uses = [...Object.keys(p.deps).map((_, i) => `typeof d${i}`), ...p.uses.map((u) => `${u}()`)].join(' + " " + ');
    write(path.join(pkg, 'src', 'index.ts'), `${imports.join('\n')}\n\nexport function describe(): string {\n  return '${name}: ' + ${uses};\n}\n`);
    write(path.join(pkg, 'test', `${name}.test.js`), `const test = require('node:test');\nconst assert = require('node:assert');\nconst { describe } = require('../dist/index.js');\ntest('${name}', () => { assert.match(describe(), /^${name}: /); });\n`);
    const inputs = [`packages/${name}`, 'tsconfig.base.json'];
    // The commands turbo runs for these tasks: the package's own scripts, through npm.
    jobs[`build-${name}`] = { run: `npm run build -w packages/${name}`, inputs, outputs: [`packages/${name}/dist/**`], needs: p.uses.map((u) => `build-${u}`) };
    jobs[`test-${name}`] = { run: `npm run test -w packages/${name}`, inputs, needs: [`build-${name}`] };
  }
  write(path.join(dir, '.datakit-ci.json'), json({
    setup: { run: 'npm ci --no-audit --no-fund', inputs: ['package.json', 'package-lock.json', 'packages/*/package.json'] },
    jobs,
  }));
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, env, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm install: ${r.stderr}`);
  fs.rmSync(path.join(dir, 'node_modules'), { recursive: true });
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'monorepo']);
  return Object.keys(jobs);
}

/** Disk blocks used under the paths, each hard-linked file once (one `du` invocation), in bytes. */
function du(...paths) {
  const out = execFileSync('du', ['-s', '-B1', '-c', ...paths], { encoding: 'utf8' }).trim().split('\n');
  return Number(out.at(-1).split(/\s+/)[0]);
}

const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const s = (x) => `${(x / 1000).toFixed(1)} s`;

await withTurbo('dkci-monorepo-bench-', async ({ tmp, turbo, cli, env }) => {
  const origin = path.join(tmp, 'origin');
  fs.mkdirSync(origin);
  const jobs = makeMonorepo(origin, env, turbo.version);
  const files = Number(gitIn(origin, ['ls-files']).split('\n').length);

  // (a) Each round, each tool in a fresh clone with its own empty caches (results, build directories,
  // turbo's), made before the timing and removed after it; the two run in rotating order.
  const cold = { datakit: [], npmAndTurbo: [] };
  let disk;
  for (let round = 0; round < ROUNDS; round++) {
    const dk = path.join(tmp, `dk-${round}`);
    const tb = path.join(tmp, `turbo-${round}`);
    const cacheDir = path.join(tmp, `dk-cache-${round}`);
    for (const dir of [dk, tb]) { gitIn(tmp, ['clone', '-q', origin, dir]); }
    const contestants = {
      datakit: () => {
        const t = process.hrtime.bigint();
        const r = spawnSync(process.execPath, [cli, 'build', '--json'], { cwd: dk, env: { ...env, DATAKIT_CI_CACHE_DIR: cacheDir }, encoding: 'utf8' });
        const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
        const out = JSON.parse(r.stdout);
        const failed = out.jobs.filter((j) => j.state !== 'success');
        assert.equal(r.status, 0, `${r.stderr}${failed.map((j) => `${j.job}: ${j.state} ${j.message}\n${spawnSync(process.execPath, [cli, 'log', j.job], { cwd: dk, env: { ...env, DATAKIT_CI_CACHE_DIR: cacheDir }, encoding: 'utf8' }).stdout}`).join('\n')}`);
        assert.deepEqual(out.jobs.map((j) => [j.job, j.state, j.cached]), jobs.map((j) => [j, 'success', false]));
        return elapsed;
      },
      npmAndTurbo: () => {
        const t = process.hrtime.bigint();
        wall('npm', ['ci', '--no-audit', '--no-fund'], { cwd: tb, env });
        const r = spawnSync(path.join(tb, 'node_modules', '.bin', 'turbo'), ['run', 'build', 'test'], { cwd: tb, env, encoding: 'utf8' });
        const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /Tasks:\s+8 successful, 8 total/);
        assert.match(r.stdout, /Cached:\s+0 cached, 8 total/);
        return elapsed;
      },
    };
    const names = Object.keys(contestants);
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      cold[name].push(contestants[name]());
    }
    disk ??= {
      buildDirs: du(cacheDir),
      nodeModules: du(path.join(tb, 'node_modules'), ...Object.keys(PACKAGES).map((p) => path.join(tb, 'packages', p, 'node_modules')).filter((p) => fs.existsSync(p))),
    };
    for (const dir of [dk, tb, cacheDir]) { fs.rmSync(dir, { recursive: true, force: true }); }
  }
  const dk = median(cold.datakit);
  const base = median(cold.npmAndTurbo);
  console.log(`(a) cold run of a 4-package npm-workspaces monorepo (${files} files, 8 jobs / turbo tasks), median of ${ROUNDS}:`);
  console.log(`    datakit-ci build ${s(dk)} (rounds: ${cold.datakit.map(s).join(', ')})`);
  console.log(`    npm ci + turbo run build test ${s(base)} (rounds: ${cold.npmAndTurbo.map(s).join(', ')}); ratio ${(dk / base).toFixed(2)} (budget ≤ 1.2) ${verdict(dk / base <= 1.2)}`);
  console.log(`(b) disk: build directories + dependencies folder ${mb(disk.buildDirs)}; the working tree's node_modules ${mb(disk.nodeModules)}; ratio ${(disk.buildDirs / disk.nodeModules).toFixed(2)} (budget ≤ 2) ${verdict(disk.buildDirs / disk.nodeModules <= 2)}`);

  // (c) A setup whose products are DEP_FILES files, and two jobs that differ only in using them.
  const big = path.join(tmp, 'big');
  fs.mkdirSync(big);
  gitIn(big, ['init', '-q', '-b', 'main']);
  write(path.join(big, 'make-deps.js'), `const fs = require('fs');\nfor (let p = 0; p < ${DEP_FILES / 100}; p++) {\n  fs.mkdirSync('node_modules/pkg' + p + '/lib', { recursive: true });\n  for (let f = 0; f < 100; f++) fs.writeFileSync('node_modules/pkg' + p + '/lib/f' + f + '.js', 'module.exports = ' + f + ';\\n');\n}\n`);
  write(path.join(big, 'package.json'), json({ name: 'big', private: true }));
  write(path.join(big, '.gitignore'), 'node_modules\n');
  write(path.join(big, '.datakit-ci.json'), json({
    setup: { run: 'node make-deps.js', inputs: ['make-deps.js'] },
    jobs: { "with-deps": { run: 'test -f node_modules/pkg0/lib/f0.js' }, without: { run: 'test ! -e node_modules', setup: false } },
  }));
  gitIn(big, ['add', '-A']);
  gitIn(big, ['commit', '-q', '-m', 'big']);
  const bigEnv = { ...env, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'big-cache') };
  wall(process.execPath, [cli, 'build'], { cwd: big, env: bigEnv });
  const linked = Number(execFileSync('sh', ['-c', 'find "$1" -path "*/work/*/node_modules/*" -type f | wc -l', 'sh', bigEnv.DATAKIT_CI_CACHE_DIR], { encoding: 'utf8' }).trim());
  assert.equal(linked, DEP_FILES, 'the job with the setup has every dependency file in its checkout');
  const workDirs = () => fs.readdirSync(path.join(bigEnv.DATAKIT_CI_CACHE_DIR)).map((id) => path.join(bigEnv.DATAKIT_CI_CACHE_DIR, id, 'work')).filter((d) => fs.existsSync(d));
  const rebuild = (job, fresh) => () => {
    if (fresh) { for (const w of workDirs()) { fs.rmSync(w, { recursive: true, force: true }); } }
    // `rebuild` marks the result; `build` builds it again (the time of both is measured).
    return wall(process.execPath, [cli, 'rebuild', job], { cwd: big, env: bigEnv }) + wall(process.execPath, [cli, 'build', job], { cwd: big, env: bigEnv });
  };
  const reused = await sideBySide({ withDeps: rebuild('with-deps', false), without: rebuild('without', false) }, START_ROUNDS);
  const fresh = await sideBySide({ withDeps: rebuild('with-deps', true), without: rebuild('without', true) }, START_ROUNDS);
  const extra = (t) => median(t.withDeps) - median(t.without);
  console.log(`(c) a job with ${DEP_FILES} dependency files in place, \`datakit-ci rebuild JOB && datakit-ci build JOB\`, median of ${START_ROUNDS}:`);
  console.log(`    build directory used before: ${ms(median(reused.withDeps))} against ${ms(median(reused.without))} without the setup: +${ms(extra(reused))} (budget ≤ 1 s) ${verdict(extra(reused) <= 1000)}`);
  console.log(`    fresh build directory: ${ms(median(fresh.withDeps))} against ${ms(median(fresh.without))}: +${ms(extra(fresh))} (budget ≤ 1 s) ${verdict(extra(fresh) <= 1000)}`);

  record('monorepo', {
    turbo: turbo.version, rounds: ROUNDS, coldMs: { datakit: cold.datakit, npmAndTurbo: cold.npmAndTurbo }, ratio: dk / base,
    diskBytes: disk, startRounds: START_ROUNDS,
    startMs: { reused: { withDeps: median(reused.withDeps), without: median(reused.without) }, fresh: { withDeps: median(fresh.withDeps), without: median(fresh.without) } },
  });
});
