import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { git, gitIn, tempRoot } from '../fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('dist/engine.js, the public API, in plain Node', () => {
  it('exports the names other code builds on', () => {
    const out = execFileSync(process.execPath, ['-p', `Object.keys(require(${JSON.stringify(path.join(ROOT, 'dist/engine.js'))})).sort().join(' ')`], { encoding: 'utf8' }).trim();
    for (const name of ['BuildCache', 'BuildFailure', 'CacheMetrics', 'GitStore', 'LogManager', 'Pool']) {
      assert.ok(out.split(' ').includes(name), `${name} is exported`);
    }
  });

  it('runs a builder of its own on a results repository, as the docs show', () => {
    const dir = tempRoot('api');
    try {
      git(dir, 'init', '-q');
      const script = `
        const { GitStore, LogManager, BuildCache, CacheMetrics, BuildFailure } = require(${JSON.stringify(path.join(ROOT, 'dist/engine.js'))});
        (async () => {
          const store = await GitStore.open({ dir: ${JSON.stringify(dir)} });
          const metrics = new CacheMetrics();
          const builder = {
            name: 'square', title: (n) => 'square ' + n, branch: (n) => String(n),
            async generate({ key, log, tx }) {
              if (key < 0) throw new BuildFailure('negative');
              log.log('squaring ' + key);
              await tx.writeFile('value/result', String(key * key));
              return key * key;
            },
            async load(entry) { return Number(Buffer.from(await entry.readFile('value/result')).toString()); },
          };
          const cache = new BuildCache(builder, { store, logs: new LogManager(), metrics });
          const final = async (k) => { let s = await cache.lookup(null, k); while (s.result.kind === 'pending') { await s.result.changed; s = await cache.lookup(null, k); } return s; };
          const a = await final(7), b = await final(-1);
          console.log(JSON.stringify([a.result, b.result, a.output.saved.ref]));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
      assert.deepEqual(out, [{ kind: 'success', value: 49 }, { kind: 'failure', reason: 'failed', message: 'negative' }, 'refs/heads/square/7']);
      assert.equal(gitIn(path.join(dir, '.git', 'datakit-ci'), 'show', 'square/7:value/result'), '49');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
