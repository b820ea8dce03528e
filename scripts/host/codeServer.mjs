// Starts code-server (VS Code 1.100.3's server and Node extension host) on 127.0.0.1 with private
// directories, and opens its workbench in headless Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CHROMIUM, CODE_SERVER_ENTRY, PLAYWRIGHT_DIR, RUNS_DIR } from './paths.mjs';

const KEEP_RUNS = 8;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function pruneRuns() {
  if (!fs.existsSync(RUNS_DIR)) { return; }
  const runs = fs.readdirSync(RUNS_DIR).map((n) => path.join(RUNS_DIR, n))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  for (const old of runs.slice(KEEP_RUNS)) {
    try { fs.rmSync(fs.realpathSync(path.join(old, 'tmp')), { recursive: true, force: true }); } catch { /* no tmp */ }
    fs.rmSync(old, { recursive: true, force: true });
  }
}

/**
 * A fresh directory for one run: user data, extensions, XDG dirs (code-server and Chromium write there,
 * never into $HOME), Chromium's profile, and VS Code settings.
 */
export function makeRunDir(kind, settings = {}) {
  pruneRuns();
  const dir = path.join(RUNS_DIR, `${kind}-${Date.now()}-${process.pid}`);
  for (const d of ['user-data/User', 'extensions', 'xdg-config', 'xdg-data', 'xdg-cache', 'chrome-profile']) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  }
  // VS Code's IPC sockets live in TMPDIR and their paths must stay under 108 bytes: keep it short.
  fs.symlinkSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-')), path.join(dir, 'tmp'));
  fs.writeFileSync(path.join(dir, 'user-data', 'User', 'settings.json'), JSON.stringify({
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'git.openRepositoryInParentFolders': 'never',
    'security.workspace.trust.enabled': false,
    // The tests open repositories to build them: no question first (one test asks it, setting this back).
    'datakitCi.askBeforeFirstBuild': false,
    ...settings,
  }, null, 2));
  return dir;
}

export function codeServerArgs(runDir, { trust = false } = {}) {
  return [
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(trust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--user-data-dir', path.join(runDir, 'user-data'),
    '--extensions-dir', path.join(runDir, 'extensions'),
    '--config', path.join(runDir, 'xdg-config', 'config.yaml'),
  ];
}

export function codeServerEnv(runDir, extra = {}) {
  return {
    ...process.env,
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg-cache'),
    TMPDIR: fs.realpathSync(path.join(runDir, 'tmp')),
    VSCODE_TELEMETRY_DISABLED: '1',
    ...extra,
  };
}

/** `code-server --install-extension <vsix>` into the run's extensions directory. */
export function installExtension(runDir, vsix) {
  const r = spawnSync(process.execPath, [CODE_SERVER_ENTRY, ...codeServerArgs(runDir), '--install-extension', vsix],
    { env: codeServerEnv(runDir), encoding: 'utf8' });
  if (r.status !== 0) { throw new Error(`code-server --install-extension failed:\n${r.stdout}${r.stderr}`); }
}

/** Starts code-server bound to 127.0.0.1 on a free port (or `port`) and waits until it answers. */
export async function startCodeServer(runDir, { folder, env = {}, verbose = false, trust = false, port } = {}) {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) { throw new Error('code-server is not installed: run `npm run setup:host`'); }
  port ??= await freePort();
  const args = [CODE_SERVER_ENTRY, '--bind-addr', `127.0.0.1:${port}`, ...codeServerArgs(runDir, { trust })];
  if (folder) { args.push(folder); }
  const log = fs.createWriteStream(path.join(runDir, 'code-server.log'));
  // Its own process group, so that stop() ends exactly what it started: server, extension host, pty host.
  const child = spawn(process.execPath, args, { env: codeServerEnv(runDir, env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const output = [];
  for (const s of [child.stdout, child.stderr]) {
    s.on('data', (d) => {
      log.write(d);
      output.push(d.toString());
      if (verbose) { process.stdout.write(d.toString().replace(/^/gm, '  [code-server] ')); }
    });
  }
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) { throw new Error(`code-server exited at start (${JSON.stringify(exited)}):\n${output.join('')}`); }
    if (Date.now() > deadline) { throw new Error('code-server did not answer within 60 s'); }
    try {
      if ((await fetch(`${base}/healthz`)).ok) { break; }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 150));
  }
  const stop = async () => {
    if (!exited) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const end = Date.now() + 5000;
      while (!exited && Date.now() < end) { await new Promise((r) => setTimeout(r, 100)); }
    }
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* the whole group is gone */ }
    log.end();
  };
  return { port, base, authority: `127.0.0.1:${port}`, child, stop };
}

export function loadPlaywright() {
  const require = createRequire(path.join(PLAYWRIGHT_DIR, 'package.json'));
  return require(PLAYWRIGHT_DIR);
}

export async function launchBrowser(runDir, viewport = { width: 1400, height: 860 }) {
  const { chromium } = loadPlaywright();
  const context = await chromium.launchPersistentContext(path.join(runDir, 'chrome-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'), XDG_CACHE_HOME: path.join(runDir, 'xdg-cache') },
    // The closed network refuses Chromium's background connections; keep them off.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

export const remoteUri = (server, p) => `vscode-remote://${server.authority}${p}`;

/** The workbench URL, with the web-test `payload` (extensionDevelopmentPath, extensionTestsPath, …). */
export function workbenchUrl(server, { folder, workspace, payload } = {}) {
  const q = [];
  if (folder) { q.push(`folder=${encodeURIComponent(folder)}`); }
  if (workspace) { q.push(`workspace=${encodeURIComponent(workspace)}`); }
  if (payload) { q.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`); }
  return `${server.base}/${q.length ? '?' + q.join('&') : ''}`;
}
