// (6) A result saved by another process (the command line) shown by this window: from the moment the other
// process exits to the moment the session's HEAD job holds the new result, polled every 5 ms. The floor is
// the watcher's debounce (100 ms, RESULTS_DEBOUNCE_MS in session.ts).
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import { api, headJob, ID, report, round, summary, until } from './measure';

const ROUNDS = 10;

describe('bench: a result saved by another process', function () {
  this.timeout(300_000);

  it('appears in the window\'s tree', async () => {
    const a = await api();
    const cli = path.join(vscode.extensions.getExtension(ID)!.extensionPath, 'dist', 'cli.js');
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    const results = path.join(path.dirname(folder), '.git', 'datakit-ci');
    await until('HEAD\'s docs job', () => headJob(a, 'docs')?.job.status?.result.kind === 'success');
    const ref = a.internals.sessions.all[0].jobs.ref(headJob(a, 'docs')!.job.key);
    const other: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const args of [['rebuild', 'docs'], ['build', 'docs']]) {
        const r = spawnSync(process.execPath, [cli, ...args], { cwd: folder, env, encoding: 'utf8' });
        assert.strictEqual(r.status, 0, r.stderr);
      }
      const ended = performance.now();
      const saved = execFileSync('git', [`--git-dir=${results}`, 'rev-parse', ref], { encoding: 'utf8' }).trim();
      await until('the other process\'s result', () => {
        const s = headJob(a, 'docs')?.job.status;
        return s?.output.kind === 'saved' && s.output.saved.commit === saved;
      }, 5, 30_000);
      other.push(performance.now() - ended);
    }
    const s = summary(other);
    report('coherence', { rounds: ROUNDS, otherProcessMs: s, budget: 'median <= 1000 ms', medianMs: round(s.median) });
  });
});
