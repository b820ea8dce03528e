import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, children, git, headTarget, waitFor } from './helpers';

const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('configuration file support, metrics server, commands', function () {
  this.timeout(60_000);

  it('puts the errors of .datakit-ci.json in the Problems panel at their positions', async () => {
    await api();
    const file = path.join(folder(), '.datakit-ci.json');
    const original = fs.readFileSync(file, 'utf8');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    try {
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), '{\n  "jobs": {\n    "Bad": { "run": "x" },\n    "ok": { "run": "x", "timeout": "soon" }\n  }\n}\n'));
      const diags = await waitFor('diagnostics', () => { const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'DataKit CI'); return d.length >= 2 && d; });
      const byLine = diags.map((d) => [d.range.start.line, d.message]).sort();
      assert.strictEqual(byLine[0][0], 2);
      assert.match(String(byLine[0][1]), /Bad/);
      assert.strictEqual(byLine[byLine.length - 1][0], 3);
      assert.match(String(byLine[byLine.length - 1][1]), /timeout/);
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), original));
      await waitFor('diagnostics to clear', () => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'DataKit CI').length === 0);
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      assert.strictEqual(fs.readFileSync(file, 'utf8'), original);
    }
  });

  it('warns in the Problems panel, where it is written, about an input of HEAD that matches nothing; says when the config is edited', async () => {
    const a = await api();
    const file = path.join(folder(), '.datakit-ci.json');
    const original = fs.readFileSync(file, 'utf8');
    const config = JSON.parse(original);
    config.jobs.ok.inputs = ['src', 'srcc'];
    const text = JSON.stringify(config, null, 2) + '\n';
    fs.writeFileSync(file, text);
    git(folder(), 'commit', '-qam', 'An input with a typo');
    try {
      await vscode.commands.executeCommand('datakitCi.refresh');
      const uri = vscode.Uri.file(file);
      const warning = await waitFor('the warning', () => vscode.languages.getDiagnostics(uri).find((d) => d.source === 'DataKit CI' && d.severity === vscode.DiagnosticSeverity.Warning));
      const at = text.indexOf('"srcc"');
      const line = text.slice(0, at).split('\n').length - 1;
      assert.deepStrictEqual([warning.range.start.line, warning.range.start.character], [line, at - text.lastIndexOf('\n', at) - 1]);
      assert.match(warning.message, /^Input "srcc" of job "ok" matches nothing at [0-9a-f]{7}: the job is not rebuilt when such files appear or change$/);

      // Edited and not committed: the tree says which configuration runs.
      fs.writeFileSync(file, text.replace('"srcc"', '"src/main.txt"'));
      await vscode.commands.executeCommand('datakitCi.refresh');
      const head = await headTarget(a);
      const note = await waitFor('the note under HEAD', async () => (await children(a, head)).find((n) => n.kind === 'message'));
      assert.strictEqual(note.kind === 'message' && note.text, 'Runs the committed .datakit-ci.json: yours differs');
    } finally {
      fs.writeFileSync(file, text);
      git(folder(), 'reset', '-q', '--hard', 'HEAD~1');
      await vscode.commands.executeCommand('datakitCi.refresh');
    }
    await waitFor('the warning to go', () => !vscode.languages.getDiagnostics(vscode.Uri.file(file)).some((d) => d.severity === vscode.DiagnosticSeverity.Warning));
  });

  it('contributes the JSON schema of .datakit-ci.json', async () => {
    const pkg = vscode.extensions.getExtension('datakit-ci.datakit-ci')!;
    const validation = pkg.packageJSON.contributes.jsonValidation;
    // The editor's schema: completion and hover without the rules the extension reports itself.
    assert.deepStrictEqual(validation, [{ fileMatch: '.datakit-ci.json', url: './schemas/datakit-ci.editor.schema.json' }]);
    const schema = JSON.parse(fs.readFileSync(path.join(pkg.extensionPath, 'schemas', 'datakit-ci.editor.schema.json'), 'utf8'));
    assert.deepStrictEqual([schema.required, schema.allowTrailingCommas, typeof schema.definitions.job.properties.run.description], [undefined, true, 'string']);
  });

  it('serves /metrics on 127.0.0.1 when a port is set, and warns instead of crashing when the port is taken', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('datakitCi');
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      const free = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
      await config.update('metricsPort', free, vscode.ConfigurationTarget.Global);
      await waitFor('the metrics server', () => a.internals.metrics.port === free);
      const res = await get(`http://127.0.0.1:${free}/metrics`);
      assert.strictEqual(res.status, 200);
      assert.match(res.body, /# TYPE DataKitCI_cache_builds_started_total counter/);
      assert.strictEqual((await get(`http://127.0.0.1:${free}/other`)).status, 404);

      await config.update('metricsPort', busyPort, vscode.ConfigurationTarget.Global);
      await waitFor('the metrics server to give up on the busy port', () => a.internals.metrics.problem === `port ${busyPort} is already in use`);
      assert.strictEqual(a.internals.metrics.port, 0, 'not serving; a warning was shown');
    } finally {
      await config.update('metricsPort', undefined, vscode.ConfigurationTarget.Global);
      busy.close();
    }
  });

  it('offers every command in the palette under "DataKit CI"', async () => {
    const pkg = vscode.extensions.getExtension('datakit-ci.datakit-ci')!.packageJSON;
    const all = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith('datakitCi.'));
    for (const c of pkg.contributes.commands) {
      assert.strictEqual(c.category, 'DataKit CI');
      assert.ok(all.includes(c.command), `${c.command} is registered`);
    }
  });
});
