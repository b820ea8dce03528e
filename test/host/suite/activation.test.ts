import * as assert from 'assert';
import * as vscode from 'vscode';

const ID = 'datakit-ci.datakit-ci';

describe('activation', () => {
  it('is installed from the development path and activates', async () => {
    const ext = vscode.extensions.getExtension(ID);
    assert.ok(ext, `extension ${ID} is not loaded`);
    const api = await ext.activate();
    assert.strictEqual(ext.isActive, true);
    assert.strictEqual(api.version, ext.packageJSON.version);
  });

  it('contributes the DataKit CI view container with a Builds view', async () => {
    const pkg = vscode.extensions.getExtension(ID)!.packageJSON;
    assert.deepStrictEqual(pkg.contributes.viewsContainers.activitybar.map((c: { id: string }) => c.id), ['datakitCi']);
    assert.deepStrictEqual(pkg.contributes.views.datakitCi.map((v: { id: string; name: string }) => [v.id, v.name]),
      [['datakitCi.builds', 'Builds']]);
    // Opening the container and focusing the view go through the workbench: both commands exist only if
    // the workbench registered the contributed container and view.
    await vscode.commands.executeCommand('workbench.view.extension.datakitCi');
    await vscode.commands.executeCommand('datakitCi.builds.focus');
  });

  it('opened the generated fixture repository as the workspace', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.strictEqual(folders.length, 1);
    assert.match(folders[0].uri.fsPath, /[/\\]fixture$/);
  });

  it('returns an API on which another extension can run its own builder', async () => {
    const api = await vscode.extensions.getExtension(ID)!.activate();
    const builder = {
      name: 'other', title: (k: string) => `Other ${k}`, branch: (k: string) => k,
      generate: async (job: { log: { log(l: string): void }; tx: { writeFile(p: string, d: string): Promise<void> }; key: string }) => {
        job.log.log('hello from another extension');
        await job.tx.writeFile('value/answer', '42');
        return 42;
      },
      load: async (entry: { readFile(p: string): Promise<Uint8Array> }) => Number(Buffer.from(await entry.readFile('value/answer')).toString()),
    };
    const cache = await api.registerBuilder(builder);
    let s = await cache.lookup(undefined, 'x');
    while (s.result.kind === 'pending') { await s.result.changed; s = await cache.lookup(undefined, 'x'); }
    assert.deepStrictEqual(s.result, { kind: 'success', value: 42 });
    assert.strictEqual(s.output.saved.ref, 'refs/heads/other/x');
  });
});
