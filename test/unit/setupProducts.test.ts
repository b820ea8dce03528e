// A setup's products and processes against a crashing command line and a careless job: the products a job
// links are those of one finished run, and a product a job changed in place is made again, the job named.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { jobDirName } from '../../src/jobs/run/checkout';
import { CLI, ENV, isRunning, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('setup-products');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CACHE = path.join(tmp, 'cache');
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: CACHE };

let n = 0;
const project = (config: object): string => repo(path.join(tmp, `r${n++}`), { config, files: { 'a.txt': 'a\n' } });

/** Polls until `test` holds (a generous deadline: these machines are loaded; no assertion on timing). */
async function until(what: string, test: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) { throw new Error(`timed out waiting for ${what}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => { if (c.exitCode !== null || c.signalCode !== null) { resolve(); } else { c.on('close', () => resolve()); } });
}


const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('a setup\'s processes and products', { skip: process.platform !== 'linux' && 'signals and /proc' }, () => {
  it('after kill -9 of the command during its setup, the next build kills the setup it left running, and its job links the products of one run only', async () => {
    const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
    const first = path.join(pids, 'first-ran');
    // Each run appends its marker to the product; the first leaves a writer behind and never ends.
    const setup = [
      'mkdir -p node_modules',
      `if [ ! -e '${first}' ]; then`,
      `  touch '${first}'`,
      // By its absolute path, and quiet (the dead command's pipes would end it): it writes on whatever is done to the folder.
      '  top=$(pwd); (while :; do mkdir -p "$top/node_modules"; echo "$DATAKIT_CI_RUN" >> "$top/node_modules/product.txt"; sleep 0.02; done) > /dev/null 2>&1 &',
      `  echo $! > '${pids}/writer.pid'`,
      '  wait',
      'fi',
      'echo "$DATAKIT_CI_RUN" >> node_modules/product.txt',
    ].join('\n');
    const dir = project({ setup: { run: setup }, jobs: { use: { run: 'sort -u node_modules/product.txt' } } });
    const c = spawn(process.execPath, [CLI, 'build'], { cwd: dir, env: CLI_ENV, stdio: 'ignore' });
    const writerFile = path.join(pids, 'writer.pid');
    await until('the setup to write', () => fs.existsSync(writerFile) && fs.readFileSync(writerFile, 'utf8').trim() !== '');
    const writer = Number(fs.readFileSync(writerFile, 'utf8'));
    // Should the build leave it running, the test does not.
    after(() => { if (isRunning(writer)) { process.kill(writer, 'SIGKILL'); } });
    c.kill('SIGKILL');
    await exited(c);
    assert.equal(isRunning(writer), true, 'kill -9 of the command leaves its setup running');

    const second = runCli(dir, ['build', '--verbose'], CLI_ENV);
    assert.equal(second.code, 0, second.err);
    const product = path.join(CACHE, fs.readdirSync(CACHE).find((d) => d.startsWith('r'))!, 'work', jobDirName('use'), 'node_modules', 'product.txt');
    const runsWritten = new Set(lines(product));
    assert.equal(runsWritten.size, 1, `the product is one run's, not ${[...runsWritten].join(', ')}'s`);
    // What the job saw is that run's, and nothing writes it any more: the dead setup's writer is gone.
    const log = runCli(dir, ['log', 'use'], CLI_ENV).out;
    assert.match(log, new RegExp(`\\n${[...runsWritten][0]}\\n`));
    assert.equal(isRunning(writer), false, 'the next build killed what the dead setup left running');
    assert.match(second.out + second.err, /killed \d+ process(es)? (it|that \S+ \d+) left running/);
  });

  it('a job that makes a linked product writable and changes it: the next job gets the product made again, with a warning naming that job', () => {
    const counter = path.join(tmp, `setup-runs-${n}`);
    const dir = project({
      setup: { run: `mkdir -p node_modules && echo v1 > node_modules/dep.js && echo ran >> '${counter}'` },
      jobs: {
        careless: { run: 'chmod u+w node_modules/dep.js && echo changed > node_modules/dep.js' },
        reader: { run: 'cat node_modules/dep.js' },
      },
    });
    const bad = runCli(dir, ['build', 'careless'], CLI_ENV);
    assert.equal(bad.code, 0, bad.err);
    assert.match(bad.err, /warning: Job careless changed 1 file of the setup's products in place \(node_modules\/dep\.js\): the setup runs again before the next job uses them\n/);
    const next = runCli(dir, ['build', 'reader'], CLI_ENV);
    assert.equal(next.code, 0, next.err);
    assert.match(next.err, /warning: The products of setup [0-9a-f]{12} were changed in place by job careless \(at [0-9a-f]{7}\) \(node_modules\/dep\.js\): running the setup again\n/);
    const log = runCli(dir, ['log', 'reader'], CLI_ENV).out;
    assert.match(log, /Warning: The products of setup [0-9a-f]{12} were changed in place by job careless/);
    assert.match(log, /\nv1\n/, 'the job read the product as the setup made it');
    assert.deepEqual(lines(counter), ['ran', 'ran'], 'made again once');
    // Intact products are used as they are.
    const again = runCli(dir, ['rebuild', 'reader'], CLI_ENV);
    assert.equal(again.code, 0, again.err);
    assert.doesNotMatch(again.err, /changed in place/);
    assert.deepEqual(lines(counter), ['ran', 'ran']);
  });
});
