#!/usr/bin/env node
// `npm start`: builds the extension, packages it, installs it into a private code-server (VS Code in the
// browser) bound to 127.0.0.1, opens a generated demo repository, and prints the URL. Ctrl-C stops it.
// Options: --port N (default 8080, or the first free one after it), --fresh (regenerate the demo).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensureHostTools } from './host/setup.mjs';
import { HOST_DIR, PROJECT } from './host/paths.mjs';
import { installExtension, makeRunDir, startCodeServer } from './host/codeServer.mjs';
import { makeDemoRepo } from '../test/fixtures/repo.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function main() {
  ensureHostTools();
  console.log('[start] building and packaging the extension');
  execFileSync('npm', ['run', '--silent', 'package'], { cwd: PROJECT, stdio: ['ignore', 'ignore', 'inherit'] });
  const vsix = path.join(PROJECT, 'datakit-ci.vsix');

  const demo = path.join(HOST_DIR, 'demo', 'demo-repo');
  if (argv.includes('--fresh')) { fs.rmSync(path.dirname(demo), { recursive: true, force: true }); }
  if (!fs.existsSync(path.join(demo, '.git'))) {
    makeDemoRepo(demo);
    console.log(`[start] generated the demo repository ${demo}`);
  }
  // Two build slots, so that the demo's five jobs show some waiting for a slot.
  // The product as a person meets it: it asks before building a repository it never built.
  const runDir = makeRunDir('start', { 'datakitCi.maxParallelBuilds': 2, 'datakitCi.askBeforeFirstBuild': true });
  installExtension(runDir, vsix);

  let port = Number(opt('--port', process.env.PORT ?? '8080'));
  while (!(await portFree(port))) { port++; }
  const server = await startCodeServer(runDir, { folder: demo, port });
  console.log(`\n  DataKit CI is running in VS Code at  ${server.base}/?folder=${encodeURIComponent(demo)}\n`);
  console.log('  Open the DataKit CI icon in the activity bar. Press Ctrl-C to stop.\n');

  let stopping = false;
  const stop = async () => {
    if (stopping) { return; }
    stopping = true;
    console.log('\n[start] stopping code-server');
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.child.on('exit', (code) => {
    if (!stopping) { console.error(`[start] code-server exited (${code})`); process.exit(1); }
  });
}

main().catch((e) => {
  console.error(`[start] ${e.message ?? e}`);
  process.exit(1);
});
