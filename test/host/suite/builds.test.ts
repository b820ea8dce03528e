import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Explanation } from '../../../src/jobs/repoJobs';
import { api, children, git, headJobs, iconOf, item, jobNode, waitFor } from './helpers';

const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const results = () => path.join(folder(), '.git', 'datakit-ci');
const release = () => path.join(path.dirname(folder()), 'fixture.release');

describe('builds in the tree', function () {
  this.timeout(90_000);

  before(async () => {
    const a = await api();
    await waitFor('the HEAD target', async () => (await children(a)).length > 0);
  });

  it('shows the HEAD target first, labelled "main @ <sha>", with the jobs of .datakit-ci.json', async () => {
    const a = await api();
    const [head] = await children(a);
    const headItem = await item(a, head);
    assert.strictEqual(headItem.label, `main @ ${git(folder(), 'rev-parse', '--short=7', 'HEAD')}`);
    assert.strictEqual(headItem.description, 'HEAD');
    const names = (await headJobs(a)).map((n) => n.job.key.job.name);
    assert.deepStrictEqual(names, ['ok', 'bad', 'slow']);
    // Heard with the short id and what its jobs add up to, in words.
    assert.deepStrictEqual(headItem.accessibilityInformation, { label: `main @ ${git(folder(), 'rev-parse', '--short=7', 'HEAD')}, HEAD, 3 not built`, role: 'treeitem' });
  });

  it('says "No builds yet" under a job never built, rather than nothing', async () => {
    const a = await api();
    const rows = await children(a, await jobNode(a, 'ok'));
    assert.deepStrictEqual(rows.map((r) => r.kind === 'message' && r.text), ['No builds yet']);
  });

  it('lists in the Command Palette only the commands that can act now: each command has a when clause, and the keys they read follow the jobs', async () => {
    const a = await api();
    const pkg = vscode.extensions.getExtension('datakit-ci.datakit-ci')!.packageJSON as { contributes: { commands: { command: string }[]; menus: { commandPalette: { command: string; when: string }[] } } };
    const palette = new Map(pkg.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    assert.deepStrictEqual(pkg.contributes.commands.map((c) => c.command).filter((c) => !palette.has(c)), [], 'every command has a when clause');
    assert.strictEqual(palette.get('datakitCi.cancelAll'), 'datakitCi.hasPending');
    assert.strictEqual(palette.get('datakitCi.showLog'), 'datakitCi.hasLog');
    assert.strictEqual(palette.get('datakitCi.runSuggestedJobs'), 'datakitCi.hasSuggestions && !datakitCi.untrusted');
    // Nothing built yet, nothing suggested (a .datakit-ci.json is there): no log to show, nothing to cancel.
    const keys = a.internals.keys.values;
    assert.deepStrictEqual(['datakitCi.hasRepository', 'datakitCi.hasJobs', 'datakitCi.hasSuggestions', 'datakitCi.noConfig', 'datakitCi.hasPending', 'datakitCi.hasLog', 'datakitCi.hasOutputs'].map((k) => keys.get(k)),
      [true, true, false, false, false, false, false]);
  });

  it('builds with Build Now: pass, fail and a spinning pending job, with their icons, descriptions and menus, counted in the status bar (a failure from the start not flagged as new)', async () => {
    const a = await api();
    fs.rmSync(release(), { force: true });
    await vscode.commands.executeCommand('datakitCi.buildNow');
    const ok = await waitFor('ok to pass', async () => { const n = await jobNode(a, 'ok'); return n.job.status?.result.kind === 'success' && n; });
    const bad = await waitFor('bad to fail', async () => { const n = await jobNode(a, 'bad'); return n.job.status?.result.kind === 'failure' && n; });
    const slow = await jobNode(a, 'slow');
    assert.strictEqual(slow.job.status?.result.kind, 'pending');

    const okItem = await item(a, ok);
    assert.deepStrictEqual(iconOf(okItem), { id: 'pass', color: 'testing.iconPassed' });
    // A short row: the outcome, its run time, its age; the rest in the tooltip, which leads with the outcome.
    assert.match(String(okItem.description), /^passed · (<1 s|\d+ s) · just now$/);
    assert.match((okItem.tooltip as vscode.MarkdownString).value, /^\*\*ok\*\* passed\n/);
    assert.deepStrictEqual(okItem.accessibilityInformation, { label: 'ok, passed, just now', role: 'treeitem' });
    assert.strictEqual(okItem.contextValue, 'job success rebuildable hasLog hasOutputs');

    const badItem = await item(a, bad);
    assert.deepStrictEqual(iconOf(badItem), { id: 'error', color: 'testing.iconFailed' });
    assert.match(String(badItem.description), /^failed \(exit 3\) · (<1 s|\d+ s) · just now$/, 'a failure, short, says how long it ran too');
    assert.match((badItem.tooltip as vscode.MarkdownString).value, /^\*\*bad\*\* failed: Command exited with code 3\n/);
    assert.deepStrictEqual(badItem.accessibilityInformation, { label: 'bad, failed: Command exited with code 3, just now', role: 'treeitem' }, 'the state in words');
    assert.strictEqual(badItem.contextValue, 'job failure rebuildable hasLog');

    // slow runs until released: once its command has started, the tree says so.
    const slowItem = await waitFor('slow to be running', async () => { const i = await item(a, await jobNode(a, 'slow')); return /^Running · (<1 s|\d+ s)$/.test(String(i.description)) && i; });
    assert.deepStrictEqual(iconOf(slowItem), { id: 'sync~spin', color: undefined });
    // Its elapsed time is redrawn every second, its row alone.
    const updates = a.internals.tree.rowUpdates;
    await waitFor('slow\'s row to be redrawn alone', () => a.internals.tree.rowUpdates > updates);
    assert.strictEqual(slowItem.contextValue, 'job pending cancellable hasLog');
    const tooltip = (slowItem.tooltip as vscode.MarkdownString).value;
    assert.match(tooltip, /\| branch \| `refs\/heads\/shell\/slow\/[0-9a-f]{16}` \|/);

    // The status bar counts the HEAD target (its updates are coalesced, so wait for this one).
    await waitFor('the status bar to count the builds', () => a.internals.statusBar.item.text === 'DataKit CI: $(loading~spin) 1 $(pass) 1 $(error) 1');

    // While slow runs there is something to cancel and logs to show.
    assert.deepStrictEqual(['datakitCi.hasPending', 'datakitCi.hasLog', 'datakitCi.hasFailed', 'datakitCi.hasOutputs'].map((k) => a.internals.keys.values.get(k)), [true, true, true, true]);
    fs.writeFileSync(release(), '');
    await waitFor('slow to pass', async () => (await jobNode(a, 'slow')).job.status?.result.kind === 'success');
    await waitFor('nothing left to cancel', () => a.internals.keys.values.get('datakitCi.hasPending') === false);
    await waitFor('the status bar to settle', () => a.internals.statusBar.item.text === 'DataKit CI: $(pass) 2 $(error) 1');
    // bad has never passed: its failure is counted, and said in words, but not flagged as new.
    assert.strictEqual(a.internals.statusBar.item.backgroundColor, undefined, 'no error background for a failure that was there from the start');
    assert.strictEqual(a.internals.statusBar.item.accessibilityInformation?.label, `DataKit CI, main @ ${git(folder(), 'rev-parse', '--short=7', 'HEAD')}: 2 passed, 1 failed`);
  });

  it('opens the saved log of a finished job, read from git, as a read-only document', async () => {
    const a = await api();
    const bad = await jobNode(a, 'bad');
    await vscode.commands.executeCommand('datakitCi.showLog', bad);
    const editor = await waitFor('the log editor', () => vscode.window.activeTextEditor?.document.uri.scheme === 'datakit-ci-log' && vscode.window.activeTextEditor);
    const saved = bad.job.status!.output.kind === 'saved' ? bad.job.status!.output.saved : assert.fail('saved');
    const fromGit = git(folder(), `--git-dir=${results()}`, 'show', `${saved.commit}:log`);
    assert.strictEqual(editor.document.getText(), fromGit + '\n');
    assert.match(editor.document.getText(), /^=== bad @ [0-9a-f]{7}\n/);
    assert.match(editor.document.getText(), /checking\n.*Failed: Command exited with code 3\n$/s);
  });

  it('rebuilds a failed job through the Rebuild command: pending, then failed again, with its history', async () => {
    const a = await api();
    const bad = await jobNode(a, 'bad');
    await vscode.commands.executeCommand('datakitCi.rebuild', bad);
    const again = await waitFor('bad to fail again', async () => { const n = await jobNode(a, 'bad'); return n.job.status?.result.kind === 'failure' && n; });
    const ref = a.internals.sessions.all[0].jobs.ref(again.job.key);
    const failed = /^bad @ [0-9a-f]{7}: failed after [\d.]+ s: Command exited with code 3$/;
    const subjects = git(folder(), `--git-dir=${results()}`, 'log', '--format=%s', ref).split('\n');
    assert.strictEqual(subjects.length, 3);
    assert.match(subjects[0], failed);
    assert.strictEqual(subjects[1], 'Marked for rebuild');
    assert.match(subjects[2], failed);
    const history = await children(a, again);
    assert.strictEqual(history.length, 2, 'two builds; the rebuild mark is not a build');
    const first = await item(a, history[0]);
    const subject = git(folder(), 'log', '-1', '--format=%s', again.job.key.commit);
    assert.strictEqual(first.label, `${again.job.key.commit.slice(0, 7)} ${subject}`);
    assert.match(String(first.description), /^failed \(exit 3\) · (<1 s|\d+ s) · this commit · /);
  });

  it('streams a running build into its output channel, then cancels it', async () => {
    const a = await api();
    fs.rmSync(release(), { force: true });
    const slow = await jobNode(a, 'slow');
    await vscode.commands.executeCommand('datakitCi.rebuild', slow);
    const pending = await waitFor('slow to run', async () => { const n = await jobNode(a, 'slow'); return n.job.status?.result.kind === 'pending' && n; });
    await vscode.commands.executeCommand('datakitCi.showLog', pending);
    const channels = a.internals.channels as { textOf(name: string): string | undefined };
    const name = `slow @ ${pending.job.key.commit.slice(0, 7)}`;
    await waitFor('ticks in the output channel', () => /tick 2/.test(channels.textOf(name) ?? ''));
    assert.match(channels.textOf(name)!, /^=== slow @ [0-9a-f]{7}\n/);

    assert.strictEqual(await vscode.commands.executeCommand('datakitCi.cancel', pending), true);
    const cancelled = await waitFor('slow to be cancelled', async () => { const n = await jobNode(a, 'slow'); return n.job.status?.result.kind === 'failure' && n; });
    const ci = await item(a, cancelled);
    assert.deepStrictEqual(iconOf(ci), { id: 'circle-slash', color: 'testing.iconSkipped' });
    assert.match(String(ci.description), /^Cancelled/);
    assert.strictEqual(ci.contextValue, 'job cancelled rebuildable hasLog');
  });

  it('explains a key against the previous build of the same job', async () => {
    const a = await api();
    const before = (await jobNode(a, 'ok')).job.key;
    fs.writeFileSync(path.join(folder(), 'src', 'util.txt'), 'changed\n');
    git(folder(), 'commit', '-qam', 'Change util');
    await vscode.commands.executeCommand('datakitCi.refresh');
    const ok = await waitFor('the new HEAD', async () => { const n = await jobNode(a, 'ok'); return n.job.key.commit === git(folder(), 'rev-parse', 'HEAD') && n; });
    assert.notStrictEqual(ok.job.key.digest, before.digest, 'src changed: a new key');
    await vscode.commands.executeCommand('datakitCi.buildNow');
    await waitFor('ok to pass', async () => (await jobNode(a, 'ok')).job.status?.result.kind === 'success');
    const { explanation: e, html } = await vscode.commands.executeCommand<{ explanation: Explanation; html: string }>('datakitCi.explainKey', await jobNode(a, 'ok'));
    // A page of its own in front (a webview), not an Untitled document that asks to be saved.
    const title = `Explain ok @ ${ok.job.key.commit.slice(0, 7)}`;
    await waitFor(`the tab "${title}" in front`, () => vscode.window.tabGroups.activeTabGroup.activeTab?.label === title);
    assert.ok(vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputWebview, 'a webview');
    // The files of a plain-path input that changed, their blob ids compared; nothing else changed.
    assert.deepStrictEqual(e.previous?.changes.inputs.map((i) => [i.input, i.files]), [['src', { added: [], removed: [], changed: ['src/util.txt'] }]]);
    assert.deepStrictEqual([e.previous?.changes.definition, e.previous?.changes.tool, e.previous?.key], [[], null, before.digest]);
    assert.match(String(e.result?.builtBy), /^\S+@\S+ \([^)]*datakit-ci [\d.]+[^)]*\)$/, 'which machine built it');
    // What the page says: what changed first, the inputs, the raw key last.
    const [changes, inputs, raw] = ['id="changes"', 'id="inputs"', 'id="raw"'].map((m) => html.indexOf(m));
    assert.ok(changes > 0 && changes < inputs && inputs < raw, 'what changed, then the inputs, then the raw key');
    assert.ok(html.includes('<h3>Input <code>src</code>: 1 changed</h3>') && html.includes('<td class="badge changed">changed</td><td><code>src/util.txt</code></td>'), html);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('says a result reused from another commit is cached, and for which commit it was built', async () => {
    const a = await api();
    const before = git(folder(), 'rev-parse', 'HEAD');
    await vscode.commands.executeCommand('datakitCi.buildNow');
    await waitFor('ok to pass', async () => (await jobNode(a, 'ok')).job.status?.result.kind === 'success');
    fs.writeFileSync(path.join(folder(), 'README.md'), '# docs only\n');
    git(folder(), 'commit', '-qam', 'Docs only');
    await vscode.commands.executeCommand('datakitCi.refresh');
    const ok = await waitFor('the new HEAD', async () => { const n = await jobNode(a, 'ok'); return n.job.key.commit !== before && n; });
    assert.strictEqual(ok.job.status?.result.kind, 'success', 'ok\'s inputs (src) did not change: a hit');
    const okItem = await item(a, ok);
    assert.match(String(okItem.description), /^passed · cached · (<1 s|\d+ s) · just now$/, 'marked cached; where from, in the tooltip');
    const tip = (okItem.tooltip as vscode.MarkdownString).value;
    assert.match(tip, new RegExp(`^\\*\\*ok\\*\\* passed\\n\\nCached · built for ${before.slice(0, 7)}\\.`));
    assert.match(tip, new RegExp(`built for \`${before.slice(0, 12)}\``));
  });

  it('shows the metrics of its own registry', async () => {
    const text = await vscode.commands.executeCommand<string>('datakitCi.showMetrics');
    const shown = vscode.window.activeTextEditor!.document;
    assert.deepStrictEqual([shown.uri.scheme, shown.isUntitled, shown.getText()], ['datakit-ci-view', false, text]);
    assert.match(text, /DataKitCI_cache_builds_started_total\{name="shell"\} \d+/);
    assert.match(text, /DataKitCI_pool_capacity\{name="builds"\} \d+/);
  });

  it('builds the new HEAD automatically after a commit when automatic builds are on', async () => {
    const a = await api();
    await vscode.workspace.getConfiguration('datakitCi').update('automaticBuilds', true, vscode.ConfigurationTarget.Global);
    fs.writeFileSync(release(), '');
    try {
      fs.writeFileSync(path.join(folder(), 'src', 'main.txt'), 'auto\n');
      git(folder(), 'commit', '-qam', 'Trigger an automatic build');
      const sha = git(folder(), 'rev-parse', 'HEAD');
      await waitFor('ok built for the new HEAD', async () => {
        const n = await jobNode(a, 'ok');
        return n.job.key.commit === sha && n.job.status?.result.kind === 'success';
      });
    } finally {
      await vscode.workspace.getConfiguration('datakitCi').update('automaticBuilds', false, vscode.ConfigurationTarget.Global);
    }
  });
});
