import * as assert from 'assert';
import * as vscode from 'vscode';
import { api, children, item, waitFor } from '../suite/helpers';

describe('two workspace folders', function () {
  this.timeout(60_000);

  it('shows one repository node per git repository, each with its HEAD target and jobs', async () => {
    const a = await api();
    assert.strictEqual(vscode.workspace.workspaceFolders?.length, 2);
    const roots = await waitFor('two repositories', async () => { const r = await children(a); return r.length === 2 && r; });
    const labels = await Promise.all(roots.map(async (r) => (await item(a, r)).label));
    assert.deepStrictEqual(labels, ['alpha', 'beta']);
    for (const r of roots) {
      const [head] = await children(a, r);
      assert.match(String((await item(a, head)).label), /^main @ [0-9a-f]{7}$/);
      const jobs = await children(a, head);
      assert.deepStrictEqual(jobs.map((j) => j.kind === 'job' && j.job.key.job.name), ['ok', 'bad', 'slow']);
    }
  });

  it('follows a folder removed from the workspace', async () => {
    const a = await api();
    const changed = new Promise<void>((r) => { const d = vscode.workspace.onDidChangeWorkspaceFolders(() => { d.dispose(); r(); }); });
    assert.ok(vscode.workspace.updateWorkspaceFolders(1, 1));
    await changed;
    await waitFor('one repository left', () => a.internals.sessions.all.length === 1);
    const roots = await children(a);
    assert.strictEqual(roots[0].kind, 'target', 'a single repository shows its targets at the top');
  });
});
