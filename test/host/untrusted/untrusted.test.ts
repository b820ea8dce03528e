import * as assert from 'assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { OperationEnd } from '../../../src/extension/operations';
import { JobTerminal } from '../../../src/extension/tasks';
import { api, children, git, headJobs, iconOf, item, waitFor } from '../suite/helpers';

interface SpawnCall { fn: string; command: string; stack: string }
const spawns = (): SpawnCall[] => (globalThis as { __datakitCiSpawns?: SpawnCall[] }).__datakitCiSpawns ?? [];
/** The processes the extension's code started: the bundle's, or the compiled sources' a test runs directly. */
const ours = (): string[] => spawns().filter((s) => /[/\\](dist[/\\]extension\.js|out[/\\]src[/\\])/.test(s.stack)).map((s) => `${s.fn} ${s.command}`);
const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const resultRefs = () => fs.readdirSync(path.join(folder(), '.git', 'datakit-ci', 'refs', 'heads', 'shell'), { recursive: true }).sort();

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

  it('refuses every way of building, each saying why, and starts no process', async () => {
    const a = await api();
    const { ops, sessions } = a.internals;
    const session = sessions.all[0]!;
    const refsBefore = resultRefs();
    // The spy is preloaded into this process by the runner; prove it sees a spawn when there is one.
    const seen = spawns().length;
    cp.execFileSync('true');
    assert.strictEqual(spawns().length, seen + 1, 'the spawn spy records spawns in this process');
    const from = ops.recent.length;
    const ended = (): OperationEnd[] => ops.recent.slice(from);

    // Every command that builds, runs git or writes, from the palette and from a row.
    const [ok, bad] = await headJobs(a);
    const commands: [string, ...unknown[]][] = [
      ['datakitCi.buildNow'], ['datakitCi.rebuildFailed'], ['datakitCi.buildWorkingTree'], ['datakitCi.runSuggestedJobs'],
      // Rebuild from a row, and from the palette: refused at its start, before it would ask which job.
      ['datakitCi.build', bad], ['datakitCi.rebuild', bad], ['datakitCi.rebuild'], ['datakitCi.restoreOutputs', ok],
      ['datakitCi.fetchResults'], ['datakitCi.pushResults'],
      ['datakitCi.openSource', session.id, session.head!.target.commit, 'src/a.txt', 1],
    ];
    for (const [id, ...args] of commands) {
      // Were the check missing, Restore Outputs would wait on its modal dialog here and the test time out.
      assert.strictEqual(await vscode.commands.executeCommand(id, ...args), undefined, `${id} returns nothing`);
    }
    // A task of a job.
    const terminal = new JobTerminal(sessions, ops, vscode.workspace.workspaceFolders![0], { type: 'datakit-ci', job: 'bad' });
    const written: string[] = [];
    terminal.onDidWrite((t) => written.push(t));
    const code = new Promise<number>((r) => terminal.onDidClose!((c) => r(c as number)));
    terminal.open();
    assert.strictEqual(await code, 1, 'the task fails');
    assert.match(written.join(''), /not trusted, so DataKit CI runs nothing/, 'the task\'s terminal says why');
    // A save, with `buildWorkingTree: onSave`.
    const doc = await vscode.workspace.openTextDocument(path.join(folder(), 'src', 'a.txt'));
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'changed '));
    await doc.save();
    await waitFor('the save\'s build refused', () => ended().some((e) => e.name === 'Build the Working Tree on Save'));
    assert.strictEqual((await headJobs(a)).find((j) => j.job.key.job.name === 'bad')!.job.status?.result.kind, 'failure', 'the failed job is as it was');
    // HEAD moving (a commit made in a terminal), with automatic builds on.
    git(folder(), 'commit', '-qam', 'A commit from a terminal');
    await waitFor('the new HEAD\'s build refused', () => ended().some((e) => e.name === 'Build the new HEAD'));

    const expected = ['Build Now', 'Rebuild Failed', 'Build the Working Tree', 'Run Suggested Jobs', 'Build', 'Rebuild', 'Rebuild', 'Restore Outputs',
      'Fetch Results', 'Push Results', 'Open Source', 'Run Task bad', 'Build the Working Tree on Save', 'Build the new HEAD'];
    assert.deepStrictEqual(ended().map((e) => e.name), expected, 'each way of building was refused once, in this order');
    for (const e of ended()) {
      assert.strictEqual(e.outcome, 'refused', `${e.name} was refused (not failed, not done): ${e.said ?? ''}`);
      assert.match(e.said ?? '', /this workspace is not trusted, so DataKit CI runs nothing in it/, `${e.name} says why`);
    }
    assert.deepStrictEqual(ours(), [], 'the extension started no process');
    assert.deepStrictEqual(resultRefs(), refsBefore, 'no result was written');
    assert.strictEqual(fs.existsSync(path.join(folder(), 'out')), false, 'no output was restored');
  });
});
