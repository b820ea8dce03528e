// The disk that build directories take: a generated npm-workspaces-like monorepo (PACKAGES packages, a build
// and a test job each, test needing build, one setup whose product is a node_modules of DEP_FILES files made
// offline), built over a `--range` of 5 commits, then `gc`. The bytes (each inode once, as the disk holds
// them) and inodes of the jobs' directories (work/) and of the setup's products (deps/) against the same
// node_modules made in the working tree.
// Run after `npm run build`: node bench/disk.bench.mjs [DIR...]
// Each DIR is another checkout whose dist/cli.js is measured the same way beside this one (the build before).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, gitIn, mib, record, ROOT, verdict, withTmp } from './lib.mjs';

const PACKAGES = 8;
const DEP_FILES = 20_000;
const SOURCES_PER_PACKAGE = 40;

/** A node_modules of DEP_FILES files in folders of 10, 200 to 4,000 bytes each: what `npm ci` would leave. */
const SETUP = `node -e "const fs=require('fs');for(let i=0;i<${DEP_FILES};i++){const d='node_modules/p'+Math.floor(i/10)+'/lib';fs.mkdirSync(d,{recursive:true});fs.writeFileSync(d+'/f'+i+'.js','x'.repeat(200+(i*37)%3800))}"`;

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function makeRepo(dir) {
  gitIn(dir, ['init', '-q', '-b', 'main']);
  const jobs = {};
  for (let p = 0; p < PACKAGES; p++) {
    jobs[`build-p${p}`] = { run: `mkdir -p packages/p${p}/dist && cat packages/p${p}/src/*.js > packages/p${p}/dist/index.js`, inputs: [`packages/p${p}/src/**`], outputs: [`packages/p${p}/dist/**`] };
    jobs[`test-p${p}`] = { run: `test -s packages/p${p}/dist/index.js && test -d node_modules/p0`, inputs: [`packages/p${p}/src/**`], needs: [`build-p${p}`] };
    for (let s = 0; s < SOURCES_PER_PACKAGE; s++) {
      write(path.join(dir, `packages/p${p}/src/m${s}.js`), `// module ${s}\n${'export const v = 1;\n'.repeat(40 + s)}`);
    }
  }
  write(path.join(dir, 'package-lock.json'), '{}\n');
  write(path.join(dir, '.datakit-ci.json'), JSON.stringify({ setup: { run: SETUP, inputs: ['package-lock.json'] }, jobs }, null, 2));
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-qm', 'base']);
  for (let c = 1; c <= 5; c++) {
    for (let p = 0; p < PACKAGES; p++) { write(path.join(dir, `packages/p${p}/src/m0.js`), `export const change = ${c};\n`); }
    gitIn(dir, ['commit', '-qam', `change ${c}`]);
  }
}

/** Bytes allocated and inodes under each of `dirs`, each inode counted once over all of them. */
function disk(...dirs) {
  const seen = new Set();
  let bytes = 0;
  const walk = (p) => {
    const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
    if (!st) { return; }
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) { seen.add(id); bytes += Number(st.blocks) * 512; }
    if (st.isDirectory()) { for (const e of fs.readdirSync(p)) { walk(path.join(p, e)); } }
  };
  for (const d of dirs) { walk(d); }
  return { bytes, inodes: seen.size };
}

function cli(cliJs, cwd, env, args) {
  return spawnSyncChecked(process.execPath, [cliJs, ...args], cwd, env).stdout.toString();
}

function spawnSyncChecked(cmd, args, cwd, env) {
  const r = spawnSync(cmd, args, { cwd, env, maxBuffer: 64 << 20 });
  if (r.status !== 0) { throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`); }
  return r;
}

/** The build root of the repository under `cache` (one repository per cache). */
function buildRootIn(cache) {
  const ids = fs.readdirSync(cache).filter((f) => fs.existsSync(path.join(cache, f, 'work')));
  return path.join(cache, ids[0]);
}

const line = (what, d, base) => `  ${what.padEnd(34)} ${mib(d.bytes).padStart(10)} ${String(d.inodes).padStart(8)} inodes  ${(d.bytes / base.bytes).toFixed(2)}× bytes, ${(d.inodes / base.inodes).toFixed(2)}× inodes of node_modules`;

async function measure(name, cliJs) {
  return withTmp('dkci-disk-bench-', async (tmp) => {
    const dir = path.join(tmp, 'repo');
    fs.mkdirSync(dir);
    makeRepo(dir);
    const env = { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };
    // The reference: the setup's product made in the working tree.
    spawnSyncChecked('sh', ['-c', SETUP], dir, env);
    const nodeModules = disk(path.join(dir, 'node_modules'));
    fs.rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
    cli(cliJs, dir, env, ['build', '--range', 'HEAD~5..HEAD', '--yes']);
    const root = buildRootIn(env.DATAKIT_CI_CACHE_DIR);
    const work = path.join(root, 'work');
    const deps = path.join(root, 'deps');
    const afterRange = { dirs: fs.readdirSync(work).length, work: disk(work), all: disk(work, deps) };
    cli(cliJs, dir, env, ['gc']);
    const afterGc = { dirs: fs.readdirSync(work).length, work: disk(work), all: disk(work, deps) };
    console.log(`${name}: ${PACKAGES * 2} jobs, node_modules ${mib(nodeModules.bytes)} in ${nodeModules.inodes} inodes`);
    console.log(`  after build --range of 5 commits: ${afterRange.dirs} job directories`);
    console.log(line('build directories', afterRange.work, nodeModules));
    console.log(line('build directories + setup', afterRange.all, nodeModules));
    console.log(`  after gc: ${afterGc.dirs} job directories`);
    console.log(line('build directories', afterGc.work, nodeModules));
    console.log(line('build directories + setup', afterGc.all, nodeModules));
    const ratio = afterGc.all.bytes / nodeModules.bytes;
    console.log(`  build directories + setup after gc ≤ 2× node_modules: ${ratio.toFixed(2)}× — ${verdict(ratio <= 2)}`);
    return { name, jobs: PACKAGES * 2, nodeModules, afterRange, afterGc, ratio };
  });
}

const others = process.argv.slice(2);
const figures = [await measure('this build', path.join(ROOT, 'dist', 'cli.js'))];
for (const other of others) { figures.push(await measure(other, path.join(path.resolve(other), 'dist', 'cli.js'))); }
record('disk', { figures });
