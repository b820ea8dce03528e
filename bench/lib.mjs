// Helpers shared by the benches: timing, side-by-side rounds, git, temp dirs and generated data.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GIT_ENV as FIXTURE_GIT_ENV, gitWith } from '../test/fixtures/repo.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS = path.join(ROOT, 'bench', 'results');
export const TURBO_DIR = path.join(RESULTS, 'turbo');
const require = createRequire(import.meta.url);

/** A module of the compiled sources (`npx tsc -p tsconfig.test.json` puts src under out/src). */
export function requireOut(rel) {
  const file = path.join(ROOT, 'out', 'src', rel);
  if (!fs.existsSync(`${file}.js`)) {
    throw new Error(`${path.relative(ROOT, file)}.js is missing: run \`npx tsc -p tsconfig.test.json\` first`);
  }
  return require(file);
}

/** A bundle of dist/ (`npm run build`). */
export function distFile(name) {
  const file = path.join(ROOT, 'dist', name);
  if (!fs.existsSync(file)) { throw new Error(`dist/${name} is missing: run \`npm run build\` first`); }
  return file;
}

// The fixtures' git (no user or system configuration), with the identity of the results the extension writes:
// the benches write such results themselves.
export const GIT_ENV = {
  ...process.env, ...FIXTURE_GIT_ENV,
  GIT_AUTHOR_NAME: 'DataKit CI', GIT_AUTHOR_EMAIL: 'datakit-ci@localhost',
  GIT_COMMITTER_NAME: 'DataKit CI', GIT_COMMITTER_EMAIL: 'datakit-ci@localhost',
};

/** git on a git directory (bare or `.git`). */
export function git(gitdir, args, input) {
  return gitWith({ input, env: GIT_ENV }, `--git-dir=${gitdir}`, ...args);
}

/** git in a work tree. */
export function gitIn(cwd, args, input) {
  return gitWith({ cwd, input, env: GIT_ENV }, ...args);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export const ms = (x) => `${x.toFixed(2)} ms`;
export const us = (x) => `${(x * 1000).toFixed(2)} µs`;
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
export const verdict = (ok) => (ok ? 'ok' : 'OVER BUDGET');

/** Milliseconds taken by `fn` (awaited). */
export async function time(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Runs each contestant once per round, rotating which goes first, so that drift in the machine's load
 * falls on all of them alike. Returns each one's times in ms.
 */
export async function sideBySide(contestants, rounds) {
  const names = Object.keys(contestants);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(r + i) % names.length];
      times[n].push(await time(contestants[n]));
    }
  }
  return times;
}

/** Whole-process wall time in ms of a command; throws if it exits non-zero (unless `ok` allows it). */
export function wall(cmd, args, { cwd, env = GIT_ENV, ok = (status) => status === 0 } = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.error || !ok(r.status)) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.error ?? ''}${r.stderr}`);
  }
  return elapsed;
}

/** A temp dir removed when `fn` ends, however it ends. */
export async function withTmp(prefix, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends a run's figures to bench/results/<name>.json (git-ignored), for comparing runs over time. */
export function record(name, figures) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  let runs = [];
  try { runs = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { /* first run */ }
  runs.push({ at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...figures });
  fs.writeFileSync(file, JSON.stringify(runs, null, 2) + '\n');
}

/** A reproducible pseudo-random integer stream (so runs pick the same entries). */
export function lcg(seed = 42) {
  let s = seed;
  return (n) => (s = (s * 1103515245 + 12345) % 2147483648) % n;
}

/** Which generated entries carry a failure or a rebuild request (the rest are plain successes). */
export const entryKind = (i) => (i % 5 === 0 ? 'failure' : i % 17 === 0 ? 'rebuild' : 'success');

/**
 * A bare results repository of `count` entries, `refs/heads/bench/e<i>`, each one commit with `log`,
 * `key.json` and `value/out.txt` ("value of e<i>\n"), a `failure` every 5th and a `rebuild-requested`
 * every 17th — written by git fast-import, then unpacked into loose objects, as the store writes them.
 */
export function makeEntries(dir, count) {
  git(dir, ['init', '-q', '--bare']);
  const parts = [];
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  for (let i = 0; i < count; i++) {
    parts.push(`commit refs/heads/bench/e${i}\ncommitter DataKit CI <datakit-ci@localhost> ${1700000000 + i} +0000\n${data('Cached successful result')}`);
    parts.push(`M 100644 inline log\n${data(`Building e${i}\n${'step ok\n'.repeat(40)}Success\n`)}`);
    parts.push(`M 100644 inline key.json\n${data(`{"job":"e${i}"}`)}`);
    parts.push(`M 100644 inline value/out.txt\n${data(`value of e${i}\n`)}`);
    if (i % 5 === 0) {
      parts.push(`M 100644 inline failure\n${data(`failed e${i}`)}`);
    }
    if (i % 17 === 0) {
      parts.push(`M 100644 inline rebuild-requested\n${data('')}`);
    }
    parts.push('\n');
  }
  git(dir, ['fast-import', '--quiet'], parts.join(''));
  const packDir = path.join(dir, 'objects', 'pack');
  for (const f of fs.readdirSync(packDir).filter((f) => f.endsWith('.pack'))) {
    const moved = path.join(dir, f);
    fs.renameSync(path.join(packDir, f), moved);
    fs.rmSync(path.join(packDir, f.replace(/pack$/, 'idx')));
    git(dir, ['unpack-objects', '-q'], fs.readFileSync(moved));
    fs.rmSync(moved);
  }
}

/** A child script's helper: the process's Vm* lines of /proc/self/status, in bytes. */
export const PROC_STATUS_JS = `
  const procStatus = () => Object.fromEntries(require('fs').readFileSync('/proc/self/status', 'utf8').split('\\n')
    .filter((l) => l.startsWith('Vm')).map((l) => [l.split(':')[0], Number(l.split(/\\s+/)[1]) * 1024]));
  // Resets VmHWM to the current RSS, so that the peak after it is the peak of what follows.
  const resetPeak = () => require('fs').writeFileSync('/proc/self/clear_refs', '5');`;

/** The turbo package in bench/results/turbo, installed if missing; undefined (and why) if it cannot be. */
export function ensureTurbo(tmp) {
  const wrapper = path.join(TURBO_DIR, 'node_modules', 'turbo', 'bin', 'turbo');
  if (!fs.existsSync(wrapper)) {
    fs.mkdirSync(TURBO_DIR, { recursive: true });
    fs.writeFileSync(path.join(TURBO_DIR, 'package.json'), '{ "private": true }\n');
    // Its own npm cache in the temp dir: nothing written outside bench/results and temp dirs.
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--cache', path.join(tmp, 'npm-cache'), 'turbo@^2'], { cwd: TURBO_DIR, encoding: 'utf8' });
    if (r.status !== 0) { return { why: `npm install turbo failed: ${r.error ?? r.stderr.trim().split('\n').slice(-3).join(' ')}` }; }
  }
  const native = path.join(TURBO_DIR, 'node_modules', '@turbo', `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch === 'x64' ? '64' : process.arch}`, 'bin', 'turbo');
  if (!fs.existsSync(native)) { return { why: `no turbo binary for ${process.platform}-${process.arch} was installed` }; }
  const version = JSON.parse(fs.readFileSync(path.join(TURBO_DIR, 'node_modules', 'turbo', 'package.json'), 'utf8')).version;
  return { wrapper, native, version };
}


/**
 * Runs `fn` in a temp dir with turbo installed (or says why turbo could not run here, and runs nothing): given
 * the dir, turbo's paths and version, our command line and the environment both tools run in.
 */
export async function withTurbo(prefix, fn) {
  await withTmp(prefix, async (tmp) => {
    const turbo = ensureTurbo(tmp);
    if (turbo.why) {
      console.log(`turbo could not run here: ${turbo.why}`);
      return;
    }
    await fn({ tmp, turbo, cli: distFile('cli.js'), env: toolEnv(tmp) });
  });
}

/**
 * The environment both tools run in: home, config, caches (npm's, turbo's, the build directories) all in
 * the temp dir, no telemetry or update check, fixed git identity.
 */
export function toolEnv(tmp) {
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  return {
    ...GIT_ENV, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'),
    npm_config_cache: path.join(tmp, 'npm-cache'), DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache'),
    TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', TURBO_NO_UPDATE_NOTIFIER: '1',
  };
}
