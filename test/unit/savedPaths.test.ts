// An output the results repository would refuse to save (a `.git`, in any case, at any depth) is a configuration
// error at its line and column, so that nothing runs; and a glob that reaches a nested `.git` (a submodule's, a
// repository inside the checkout) never makes it an output. Before, `"outputs": [".git/**"]` was accepted, the
// job ran, and saving failed with `Invalid path "value/.git/HEAD"`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/jobs/config/config';
import { findOutputs } from '../../src/jobs/run/outputs';
import { ENV, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('saved-paths');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

describe('outputs and inputs the results repository would refuse', () => {
  it('".git/**" and "sub/.GIT" as outputs, ".git" as an input: config errors at their line and column', () => {
    const text = '{\n  "jobs": {\n    "a": { "run": "x",\n      "outputs": ["dist", ".git/**", "sub/.GIT"],\n      "inputs": ["!.git", ".git"] }\n  }\n}\n';
    const r = parseConfig(text);
    assert.equal(r.ok, false);
    assert.deepEqual(r.ok ? [] : r.errors.map((e) => `${e.line}:${e.column}: ${e.message}`), [
      '4:27: Output ".git/**" must not name a ".git" folder (no commit and no saved result can hold one)',
      '4:38: Output "sub/.GIT" must not name a ".git" folder (no commit and no saved result can hold one)',
      '5:18: Input "!.git" must not name a ".git" folder (no commit and no saved result can hold one)',
      '5:27: Input ".git" must not name a ".git" folder (no commit and no saved result can hold one)',
    ]);
  });

  it('build with "outputs": [".git/**"] is refused at its line:col and runs nothing', () => {
    const marker = path.join(tmp, 'ran');
    const config = `{\n  "jobs": {\n    "a": { "run": "touch ${marker}", "outputs": [".git/**"] }\n  }\n}\n`;
    const dir = repo(path.join(tmp, 'r'), { files: { '.datakit-ci.json': config } });
    const r = runCli(dir, ['build'], CLI_ENV);
    assert.equal(r.code, 2, r.err);
    const column = config.split('\n')[2]!.indexOf('".git/**"') + 1;
    assert.ok(r.err.startsWith(`.datakit-ci.json:3:${column}: Output ".git/**" must not name a ".git" folder`), r.err);
    assert.equal(fs.existsSync(marker), false, 'the job did not run');
    assert.doesNotMatch(r.err, /Invalid path/);
  });

  it('a glob reaching a nested .git (any case) or a submodule\'s .git file leaves them out of the outputs', async () => {
    const dir = path.join(tmp, 'checkout');
    write(dir, { 'dist/a.js': 'a', 'dist/inner/.git/HEAD': 'ref', 'dist/sub/.git': 'gitdir: ../x', 'dist/up/.GIT/config': 'c', 'dist/.gitignore': 'x' });
    const found = await findOutputs(dir, ['dist/**']);
    assert.deepEqual(found.files.map((f) => f.path), ['dist/.gitignore', 'dist/a.js']);
  });
});
