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

  it('opened the generated demo repository as the workspace', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.strictEqual(folders.length, 1);
    assert.match(folders[0].uri.fsPath, /[/\\]demo$/);
  });
});
