// A fully cached `build` starts no process: every job a hit is answered from the results repository's files,
// and who signs or whom fetched results are trusted from (git's configuration, four git processes) is asked
// only when something is built or fetched. The processes are seen by a spy loaded into the command line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('cached-build');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A module that records every process the command line starts, one line each, in `file`. */
function spy(file: string): string {
  const script = path.join(tmp, 'spy.cjs');
  fs.writeFileSync(script, `const cp = require('node:child_process'); const fs = require('node:fs');
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
  const real = cp[name];
  cp[name] = function (...args) { fs.appendFileSync(${JSON.stringify(file)}, name + ' ' + String(args[0]) + ' ' + (Array.isArray(args[1]) ? args[1].join(' ') : '') + '\\n'); return real.apply(this, args); };
}
`);
  return script;
}

describe('a fully cached build', () => {
  it('starts no process, and says nothing of signing; a build that builds asks git who signs', () => {
    const dir = repo(path.join(tmp, 'r'), { jobs: { a: { run: 'true' }, b: { run: 'true', needs: ['a'] } } });
    const seen = path.join(tmp, 'spawned.txt');
    const env = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache'), NODE_OPTIONS: `--require ${spy(seen)}` };
    const first = runCli(dir, ['build'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(fs.readFileSync(seen, 'utf8'), /config --get user\.signingKey/, 'the spy sees the processes of a build that builds');
    fs.rmSync(seen);
    const cached = runCli(dir, ['build'], env);
    assert.equal(cached.code, 0, cached.err);
    assert.match(cached.out, /^2 jobs: 0 built, 2 cached$/m);
    assert.equal(fs.existsSync(seen) ? fs.readFileSync(seen, 'utf8') : '', '', 'no process started');
  });

  it('starts no process for a toolInputs "node --version" whose node on PATH is the Node running it (what init declares for npm)', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const dir = repo(path.join(tmp, 'node-version'), { config: { setup: { run: 'true', toolInputs: ['node --version'] }, jobs: { a: { run: 'true', toolInputs: ['node -v'] } } } });
    const seen = path.join(tmp, 'spawned-node-version.txt');
    const env = { ...ENV, PATH: `${bin}${path.delimiter}${ENV.PATH ?? process.env.PATH}`, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache'), NODE_OPTIONS: `--require ${spy(seen)}` };
    const first = runCli(dir, ['build'], env);
    assert.equal(first.code, 0, first.err);
    fs.rmSync(seen);
    const cached = runCli(dir, ['build'], env);
    assert.equal(cached.code, 0, cached.err);
    assert.match(cached.out, /^1 jobs?: 0 built, 1 cached$/m);
    assert.equal(fs.existsSync(seen) ? fs.readFileSync(seen, 'utf8') : '', '', 'no process started, not even node --version');
  });
});
