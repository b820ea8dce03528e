#!/usr/bin/env node
// One-time setup for the extension-host and browser runners: Debian packages (when root and missing),
// code-server and playwright-core in a git-ignored folder of the project. Idempotent; fast when done.
// Writes nothing into $HOME: npm's cache and every temporary file go under the host folder.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  CHROMIUM, CODE_SERVER_ENTRY, CODE_SERVER_VERSION, HOST_DIR, PLAYWRIGHT_DIR, PLAYWRIGHT_VERSION,
} from './paths.mjs';

const RIPGREP_PACKAGE = '1.15.11'; // @vscode/ripgrep pinned by code-server 4.100.3's lib/vscode/npm-shrinkwrap.json
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

const t0 = Date.now();
const say = (msg) => console.log(`[setup ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function installedVersion(pkgDir) {
  try { return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version; } catch { return undefined; }
}

/** Debian packages: chromium (the browser), ripgrep (seeds code-server's rg), libkrb5-dev + build-essential (native modules), unzip. */
function ensureDebianPackages() {
  const missing = [];
  if (!fs.existsSync(CHROMIUM)) { missing.push('chromium'); }
  if (!onPath('rg')) { missing.push('ripgrep'); }
  if (!onPath('krb5-config')) { missing.push('libkrb5-dev'); }
  if (!onPath('g++') || !onPath('make')) { missing.push('build-essential'); }
  if (!onPath('python3')) { missing.push('python3'); }
  if (!onPath('unzip')) { missing.push('unzip'); } // the unit tests list the .vsix
  if (missing.length === 0) { return; }
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing Debian packages: ${missing.join(', ')}. Install them once with:\n  sudo sh -c '${command}'`);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${missing.join(' ')}`], { stdio: 'inherit', env });
}

function npmEnv() {
  const tmp = path.join(HOST_DIR, 'tmp');
  return {
    ...process.env,
    TMPDIR: tmp, // @vscode/ripgrep looks for its download in os.tmpdir()
    npm_config_cache: path.join(HOST_DIR, 'npm-cache'),
    npm_config_unsafe_perm: 'true', // code-server's postinstall refuses root without it
    npm_config_nodedir: process.env.npm_config_nodedir || '/usr', // node-gyp: use the installed Node headers
    npm_config_yes: 'true', // node-pty's postinstall runs `npx node-gyp`
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

function npmInstall(dir, spec, logName) {
  fs.mkdirSync(dir, { recursive: true });
  const pkg = path.join(dir, 'package.json');
  if (!fs.existsSync(pkg)) { fs.writeFileSync(pkg, JSON.stringify({ name: path.basename(dir) + '-host-tools', private: true }) + '\n'); }
  const logFile = path.join(HOST_DIR, logName);
  const out = fs.openSync(logFile, 'w');
  const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', spec], { cwd: dir, env: npmEnv(), stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (r.status !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(`npm install ${spec} failed (log: ${logFile}):\n${tail}`);
  }
}

function ensureCodeServer() {
  if (installedVersion(path.join(HOST_DIR, 'cs', 'node_modules', 'code-server')) === CODE_SERVER_VERSION && fs.existsSync(CODE_SERVER_ENTRY)) {
    return;
  }
  // code-server's @vscode/ripgrep downloads rg from GitHub; seed its cache with Debian's rg instead.
  const cache = path.join(HOST_DIR, 'tmp', `vscode-ripgrep-cache-${RIPGREP_PACKAGE}`);
  fs.mkdirSync(cache, { recursive: true });
  execFileSync('tar', ['czf', path.join(cache, RIPGREP_ASSET), '-C', path.dirname(execFileSync('sh', ['-c', 'command -v rg']).toString().trim()), 'rg']);
  say(`installing code-server ${CODE_SERVER_VERSION} (about a minute; compiles native modules)`);
  npmInstall(path.join(HOST_DIR, 'cs'), `code-server@${CODE_SERVER_VERSION}`, 'code-server-install.log');
}

function ensurePlaywright() {
  if (installedVersion(PLAYWRIGHT_DIR) === PLAYWRIGHT_VERSION) { return; }
  say(`installing playwright-core ${PLAYWRIGHT_VERSION} (no browser download: Debian's chromium is used)`);
  npmInstall(path.join(HOST_DIR, 'pw'), `playwright-core@${PLAYWRIGHT_VERSION}`, 'playwright-install.log');
}

export function ensureHostTools({ quiet = false } = {}) {
  fs.mkdirSync(HOST_DIR, { recursive: true });
  ensureDebianPackages();
  ensureCodeServer();
  ensurePlaywright();
  if (!quiet) { say(`extension-host tools ready in ${HOST_DIR}`); }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureHostTools();
  } catch (e) {
    console.error(`[setup] ${e.message}`);
    process.exit(1);
  }
}
