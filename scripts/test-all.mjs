#!/usr/bin/env node
// `npm test`: lint, then the three layers — unit (plain Node), host (the real extension host in
// code-server) and e2e (the UI in Chromium). Every layer runs; the exit code is non-zero if any failed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT } from './host/paths.mjs';
import { ensureHostTools } from './host/setup.mjs';

const layers = [
  { name: 'lint', cmd: ['npm', 'run', '--silent', 'lint'] },
  { name: 'unit', cmd: [process.execPath, '--test', '--test-reporter=spec', path.join('out', 'test', 'unit')] },
  { name: 'host', cmd: [process.execPath, 'scripts/host/run-host-tests.mjs'] },
  { name: 'e2e', cmd: [process.execPath, 'scripts/host/run-e2e.mjs'] },
];
const only = process.argv.slice(2);

function run(layer) {
  return new Promise((resolve) => {
    const child = spawn(layer.cmd[0], layer.cmd.slice(1), { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.on('close', (code) => {
      // Node's runner ends with "ℹ pass N" / "ℹ fail N"; mocha with "N passing" / "N failing".
      const count = (re) => [...out.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
      resolve({ ...layer, code, passed: count(/^ℹ pass (\d+)$/gm) + count(/^\s*(\d+) passing/gm),
        failed: count(/^ℹ fail (\d+)$/gm) + count(/^\s*(\d+) failing/gm) });
    });
  });
}

const t0 = Date.now();
ensureHostTools({ quiet: true });
const results = [];
for (const layer of layers.filter((l) => only.length === 0 || only.includes(l.name))) {
  console.log(`\n===== ${layer.name} =====`);
  results.push(await run(layer));
}
console.log('\n===== summary =====');
for (const r of results) {
  console.log(`${r.code === 0 ? 'ok  ' : 'FAIL'} ${r.name.padEnd(5)} ${r.name === 'lint' ? '' : `${r.passed} passed, ${r.failed} failed`}${r.code === 0 ? '' : ` (exit ${r.code})`}`);
}
const bad = results.filter((r) => r.code !== 0);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0) + bad.filter((r) => r.failed === 0).length;
console.log(`time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(bad.length ? 1 : 0);
