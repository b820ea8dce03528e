import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('the .vsix package', () => {
  it('holds only what runs: bundles, manifest, schema, icon and docs', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-vsix-')), 'datakit-ci.vsix');
    try {
      execFileSync(path.join(ROOT, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--no-rewrite-relative-links', '--out', out],
        { cwd: ROOT, stdio: 'pipe' });
      const listing = execFileSync('unzip', ['-Z1', out], { encoding: 'utf8' }).trim().split('\n').filter((f) => f.startsWith('extension/')).sort();
      assert.deepEqual(listing, [
        'extension/LICENSE.txt', 'extension/changelog.md', 'extension/dist/cli-main.js', 'extension/dist/cli.js', 'extension/dist/engine.js', 'extension/dist/extension.js', 'extension/dist/isomorphic-git.js', 'extension/dist/matchWorker.js',
        'extension/docs/api.md', 'extension/media/datakit-ci.svg', 'extension/package.json', 'extension/readme.md',
        'extension/schemas/datakit-ci.editor.schema.json',
        'extension/schemas/datakit-ci.schema.json',
      ]);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});
