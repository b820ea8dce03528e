import * as assert from 'assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, children, headJobs, iconOf, item, waitFor } from '../suite/helpers';

interface SpawnCall { fn: string; command: string; stack: string }
const spawns = (): SpawnCall[] => (globalThis as { __datakitCiSpawns?: SpawnCall[] }).__datakitCiSpawns ?? [];
const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

describe('an untrusted workspace', function () {
  this.timeout(60_000);

  it('is really untrusted', () => {
    assert.strictEqual(vscode.workspace.isTrusted, false);
  });

  it('shows the results saved by the command-line tool, without building anything', async () => {
    const a = await api();
    await waitFor('the HEAD target', async () => (await children(a)).length > 0);
    const jobs = await headJobs(a);
    assert.deepStrictEqual(jobs.map((j) => j.job.key.job.name), ['ok', 'bad']);
    const [ok, bad] = await Promise.all(jobs.map((j) => item(a, j)));
    assert.deepStrictEqual(iconOf(ok), { id: 'pass', color: 'testing.iconPassed' });
    assert.deepStrictEqual(iconOf(bad), { id: 'error', color: 'testing.iconFailed' });
    assert.ok(!String(ok.contextValue).includes('rebuildable'), 'no Rebuild where it cannot act');
    assert.strictEqual(ok.contextValue, 'job success hasLog hasOutputs');
  });

  it('refuses to restore outputs into the work tree, without asking', async () => {
    const a = await api();
    const ok = (await headJobs(a)).find((j) => j.job.key.job.name === 'ok')!;
    assert.strictEqual(ok.job.status?.result.kind, 'success');
    // Were the trust check missing, the command would wait on its modal dialog here and the test time out.
    assert.strictEqual(await vscode.commands.executeCommand('datakitCi.restoreOutputs', ok), undefined);
    assert.strictEqual(fs.existsSync(path.join(folder(), 'out')), false, 'nothing was written');
  });

  it('runs no job and starts no process, even when asked to build', async () => {
    const a = await api();
    const refsBefore = fs.readdirSync(path.join(folder(), '.git', 'datakit-ci', 'refs', 'heads', 'shell'), { recursive: true }).sort();
    await vscode.commands.executeCommand('datakitCi.buildNow');
    await vscode.commands.executeCommand('datakitCi.rebuildFailed');
    await vscode.commands.executeCommand('datakitCi.refresh');
    const bad = (await headJobs(a)).find((j) => j.job.key.job.name === 'bad')!;
    await vscode.commands.executeCommand('datakitCi.rebuild', bad);
    await new Promise((r) => setTimeout(r, 1000)); // give a (wrongly) started build time to spawn
    for (const s of a.internals.sessions.all) { await s.refresh(); }

    // The spy is preloaded into this process by the runner; prove it sees a spawn when there is one.
    const before = spawns().length;
    cp.execFileSync('true');
    assert.strictEqual(spawns().length, before + 1, 'the spawn spy records spawns in this process');

    const ours = spawns().filter((s) => /[/\\]dist[/\\]extension\.js/.test(s.stack));
    assert.deepStrictEqual(ours.map((s) => `${s.fn} ${s.command}`), [], 'the extension started no process');
    assert.strictEqual((await headJobs(a)).find((j) => j.job.key.job.name === 'bad')!.job.status?.result.kind, 'failure');
    const refsAfter = fs.readdirSync(path.join(folder(), '.git', 'datakit-ci', 'refs', 'heads', 'shell'), { recursive: true }).sort();
    assert.deepStrictEqual(refsAfter, refsBefore);
  });
});
