#!/usr/bin/env node
// Runs the extension-host suite (test/host, compiled to out/test/host) inside code-server's real Node
// extension host: the workbench is opened in headless Chromium with the web-test `payload`
// (extensionDevelopmentPath, extensionTestsPath), and exits with the code it reports through
// window.codeAutomationExit. Usage: run-host-tests.mjs [--only NAME] [--verbose] [--timeout SEC]
// A configuration marked `optIn` (the benchmarks) runs only when named with --only.
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { ensureHostTools } from './setup.mjs';
import { PROJECT } from './paths.mjs';
import { launchBrowser, makeRunDir, remoteUri, startCodeServer, workbenchUrl } from './codeServer.mjs';
import { HOST_CONFIGS } from '../../test/host/configs.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };
const VERBOSE = argv.includes('--verbose');
const ONLY = opt('--only');
const TIMEOUT_MS = Number(opt('--timeout', '300')) * 1000;
const TESTS = path.join(PROJECT, 'out', 'test', 'host', 'index');

const CONFIGS = HOST_CONFIGS;

const t0 = Date.now();
const say = (m) => console.log(`[host ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|\[Service Worker\]|Updating additional builtin extensions cache|ChatSessionStore|getaddrinfo ENOTFOUND|.*open-vsx\.org|.*vsda|Error: Trying to add a disposable to a DisposableStore that has already been disposed)/;

async function runConfig(config) {
  const runDir = makeRunDir(`host-${config.name}`, config.settings);
  const { folder, workspace, env = {} } = config.setup(runDir);
  let server, browser;
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), TIMEOUT_MS).unref());
  try {
    server = await startCodeServer(runDir, { verbose: VERBOSE, trust: config.trust, env: { ...env, DATAKIT_CI_HOST_CONFIG: config.name } });
    browser = await launchBrowser(runDir);
    const { page } = browser;
    const exit = new Promise((resolve) => {
      page.exposeFunction('codeAutomationExit', (code, logs) => {
        const dir = path.join(runDir, 'workbench-logs');
        fs.mkdirSync(dir, { recursive: true });
        for (const l of logs ?? []) { fs.writeFileSync(path.join(dir, l.relativePath.replace(/[\\/]/g, '__')), l.contents); }
        resolve(code);
      });
    });
    // In test mode the extension host's console output (mocha's reporter) reaches the page through this hook.
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const line = format(...(args ?? []));
      if (!VERBOSE && NOISE.test(line)) { return; }
      console.log(type === 'error' || type === 'warn' ? `[workbench ${type}] ${line}` : line);
    });
    if (VERBOSE) { page.on('console', (m) => console.log(`  [page:${m.type()}] ${m.text()}`)); }
    const payload = [
      ['extensionDevelopmentPath', remoteUri(server, PROJECT)],
      ['extensionTestsPath', remoteUri(server, TESTS)],
      ['skipWelcome', 'true'],
      ['skipReleaseNotes', 'true'],
    ];
    say(`${config.name}: opening the workbench (run dir ${runDir})`);
    await page.goto(workbenchUrl(server, { folder, workspace, payload }), { waitUntil: 'domcontentloaded' });
    const code = await Promise.race([exit, timer]);
    if (code === 'timeout') {
      await page.screenshot({ path: path.join(runDir, 'timeout.png') }).catch(() => {});
      say(`${config.name}: no result after ${TIMEOUT_MS / 1000} s`);
      return 2;
    }
    say(`${config.name}: the extension host exited with ${code}`);
    return code;
  } finally {
    await browser?.context.close().catch(() => {});
    await server?.stop().catch(() => {});
  }
}

let worst = 0;
try {
  ensureHostTools({ quiet: true });
  if (!fs.existsSync(TESTS + '.js')) { throw new Error(`${TESTS}.js is missing: run \`npm run pretest\` first`); }
  for (const config of CONFIGS.filter((c) => (ONLY ? c.name === ONLY : !c.optIn))) {
    const code = await runConfig(config);
    if (code !== 0) { worst = code; }
  }
} catch (e) {
  console.error(`[host] ${e.stack ?? e}`);
  worst = 2;
}
say(worst === 0 ? 'extension-host suite passed' : `extension-host suite FAILED (exit ${worst})`);
process.exit(worst);
