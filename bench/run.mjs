// Runs the benches one after another (`npm run bench`), each in its own node process, after building the
// compiled sources, the compiled tests and the bundles they run on (`npm run pretest`); the output also goes
// to bench/results/last-run.txt.
//   node bench/run.mjs [--no-build] [NAME...]     e.g. `npm run bench -- cache cli`
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESULTS, ROOT } from './lib.mjs';

// Every bench/<name>.bench.mjs: these first, in this order (cheap and in-process first), then any other.
const ORDER = ['store', 'checkout', 'liveLog', 'cache', 'cli', 'packMemory', 'turbo', 'monorepo', 'extension'];
const found = fs.readdirSync(path.join(ROOT, 'bench')).filter((f) => f.endsWith('.bench.mjs')).map((f) => f.slice(0, -'.bench.mjs'.length));
const BENCHES = [...ORDER.filter((b) => found.includes(b)), ...found.filter((b) => !ORDER.includes(b)).sort()];

const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !BENCHES.includes(n));
if (unknown.length > 0) {
  console.error(`unknown bench${unknown.length > 1 ? 'es' : ''}: ${unknown.join(', ')} (benches: ${BENCHES.join(', ')})`);
  process.exit(2);
}
const selected = names.length > 0 ? BENCHES.filter((b) => names.includes(b)) : BENCHES;

const out = [];
const say = (text) => { process.stdout.write(text); out.push(text); };
const git = spawnSync('git', ['--version'], { encoding: 'utf8' }).stdout.trim();
say(`# ${new Date().toISOString()} — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown cpu'}, Node ${process.version}, ${git}\n`);

if (build) {
  for (const cmd of [['npm', 'run', '--silent', 'build'], ['npm', 'run', '--silent', 'compile-tests']]) {
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`\`${cmd.join(' ')}\` failed; the benches run on its output`);
      process.exit(1);
    }
  }
}

let failed = 0;
for (const name of selected) {
  say(`\n## ${name}: node bench/${name}.bench.mjs\n`);
  const t = Date.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', `${name}.bench.mjs`)], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  say(r.stdout);
  if (r.status !== 0) {
    failed++;
    say(`(${name} failed: exit ${r.status ?? r.signal})\n`);
  }
  say(`(${((Date.now() - t) / 1000).toFixed(0)} s)\n`);
}
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'last-run.txt'), out.join(''));
process.exitCode = failed > 0 ? 1 : 0;
