// From a red icon to the failing line: configuration errors where they are, links and an outline in logs,
// every command from the palette, failure notifications on a pass → fail, jobs as tasks.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LogDecorationsApplied } from '../../../src/extension/logs';
import { api, children, git, headTarget, iconOf, item, jobNode, waitFor } from './helpers';

const folder = (): string => vscode.workspace.workspaceFolders![0].uri.fsPath;
const configFile = (): string => path.join(folder(), '.datakit-ci.json');

/** Commits `.datakit-ci.json` as `text`, runs `fn`, then puts HEAD back where it was. */
async function withCommittedConfig(text: string, fn: () => Promise<void>): Promise<void> {
  const before = git(folder(), 'rev-parse', 'HEAD');
  fs.writeFileSync(configFile(), text);
  git(folder(), 'commit', '-qam', 'Change the jobs');
  try {
    await vscode.commands.executeCommand('datakitCi.refresh');
    await fn();
  } finally {
    git(folder(), 'reset', '-q', '--hard', before);
    await vscode.commands.executeCommand('datakitCi.refresh');
  }
}

function configOf(change: (jobs: Record<string, { run: string; inputs?: string[] }>) => void): string {
  const config = JSON.parse(git(folder(), 'show', 'HEAD:.datakit-ci.json')) as { jobs: Record<string, { run: string; inputs?: string[] }> };
  change(config.jobs);
  return JSON.stringify(config, null, 2) + '\n';
}

describe('from a red icon to the failing line', function () {
  this.timeout(90_000);

  it('shows a committed broken config as error rows that open the file at the mistake, and as an error in the status bar', async () => {
    const a = await api();
    const text = configOf((jobs) => { (jobs.ok as Record<string, unknown>).timeout = 'soon'; });
    const at = text.indexOf('"soon"');
    const line = text.slice(0, at).split('\n').length;
    const column = at - text.lastIndexOf('\n', at);
    await withCommittedConfig(text, async () => {
      const head = await waitFor('HEAD with the broken config', async () => { const h = await headTarget(a); return typeof h.target.config === 'object' && !h.target.config.ok && h; });
      const rows = await children(a, head);
      assert.deepStrictEqual(rows.map((r) => r.kind), ['configError']);
      const row = await item(a, rows[0]!);
      assert.strictEqual(row.label, '"timeout" must be a duration such as "90s", "10m" or "1h30m"');
      assert.strictEqual(row.description, `.datakit-ci.json:${line}:${column}`);
      assert.deepStrictEqual(iconOf(row), { id: 'error', color: 'testing.iconFailed' });
      assert.match((row.tooltip as vscode.MarkdownString).value, new RegExp(`line ${line}, column ${column}`));
      assert.match(String((await item(a, head)).description), /config error/);

      // A click opens the working copy's file (the same as committed) at the mistake.
      await vscode.commands.executeCommand(row.command!.command, ...row.command!.arguments!);
      const editor = await waitFor('the file at the mistake', () => vscode.window.activeTextEditor?.document.uri.fsPath === configFile() && vscode.window.activeTextEditor);
      assert.deepStrictEqual([editor.selection.active.line, editor.selection.active.character], [line - 1, column - 1]);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

      // The status bar says so, and opens the same place.
      const bar = a.internals.statusBar;
      await waitFor('the status bar error', () => bar.item.text === '$(error) DataKit CI: config error');
      assert.match(String(bar.item.tooltip), new RegExp(`line ${line}, column ${column}: "timeout" must be`));
      assert.strictEqual(bar.item.accessibilityInformation?.label, `DataKit CI: configuration error at line ${line}, column ${column}: "timeout" must be a duration such as "90s", "10m" or "1h30m"`);
      const command = bar.item.command as vscode.Command;
      await vscode.commands.executeCommand(command.command, ...command.arguments!);
      const again = await waitFor('the file again', () => vscode.window.activeTextEditor?.document.uri.fsPath === configFile() && vscode.window.activeTextEditor);
      assert.strictEqual(again.selection.active.line, line - 1);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    });
    await waitFor('the status bar back to counts', () => !a.internals.statusBar.item.text.includes('config error'));
    assert.match(a.internals.statusBar.item.accessibilityInformation?.label ?? '', /^DataKit CI, \S+ @ [0-9a-f]{7}: .*\d+ passed/);
  });

  it('reports each mistake once in the Problems panel while the file is open (the JSON service and the extension do not both)', async () => {
    await api();
    const file = configFile();
    const original = fs.readFileSync(file, 'utf8');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    try {
      // Three mistakes: a missing comma (syntax), a job name (a schema rule), an unknown field.
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), '{\n  "jobs": {\n    "Bad": { "run": "x" }\n    "ok": { "run": "x", "colour": "red" }\n  }\n}\n'));
      // The JSON service's syntax error marks the end of its pass over the file: its schema findings, if it
      // had any, would be there by then.
      const all = await waitFor('both sources', () => {
        const d = vscode.languages.getDiagnostics(doc.uri);
        return d.some((x) => x.source !== 'DataKit CI') && d.filter((x) => x.source === 'DataKit CI').length >= 2 && d;
      });
      const byLine = all.map((d) => `${d.range.start.line}:${d.source === 'DataKit CI' ? 'ours' : 'json'}`).sort();
      assert.deepStrictEqual(byLine, ['2:ours', '3:json', '3:ours'], all.map((d) => `${d.range.start.line} ${d.source}: ${d.message}`).join('\n'));
      assert.match(all.find((d) => d.range.start.line === 3 && d.source === 'DataKit CI')!.message, /colour/);
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
    // Closed, the file's errors (none now) are all the extension's to report.
    await waitFor('no diagnostics once closed', () => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'DataKit CI').length === 0);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), original);
  });

  it('shows a finding once when HEAD\'s build and the working tree\'s both report it, and says which build alone reports the others', async () => {
    const a = await api();
    // check reports a finding per line of src/findings.txt that says so, and fails.
    const text = configOf((jobs) => { jobs.check = { run: "grep -n 'finding' src/findings.txt | sed 's/^\\([0-9]*\\):.*/src\\/findings.txt:\\1:1: error: a finding/'; exit 1", inputs: ['src'] }; });
    fs.writeFileSync(path.join(folder(), 'src', 'findings.txt'), 'finding\nfine\n');
    git(folder(), 'add', 'src/findings.txt');
    await withCommittedConfig(text, async () => {
      const file = vscode.Uri.file(path.join(folder(), 'src', 'findings.txt'));
      const ofCheck = (): vscode.Diagnostic[] => vscode.languages.getDiagnostics(file).filter((d) => d.source?.startsWith('DataKit CI: check'));
      await vscode.commands.executeCommand('datakitCi.build', await jobNode(a, 'check'));
      await waitFor('HEAD\'s finding', () => ofCheck().length === 1);
      // The working tree: the same finding, and one more (line 3).
      fs.writeFileSync(path.join(folder(), 'src', 'findings.txt'), 'finding\nfine\nfinding\n');
      const wt = await waitFor('the working tree\'s target', () => a.internals.sessions.all[0]!.worktree);
      await vscode.commands.executeCommand('datakitCi.buildWorkingTree', { kind: 'target', session: a.internals.sessions.all[0], target: wt });
      const both = await waitFor('both builds\' findings', () => { const d = ofCheck(); return d.length === 2 && d; });
      assert.deepStrictEqual(both.map((d) => [d.range.start.line, d.source]).sort(), [[0, 'DataKit CI: check'], [2, 'DataKit CI: check · working tree']],
        'line 1 once (both report it), line 3 said as the working tree\'s');
    });
    fs.rmSync(path.join(folder(), 'src', 'findings.txt'), { force: true });
    await vscode.commands.executeCommand('datakitCi.refresh');
  });

  it('shows a finding once when HEAD\'s build put it on its own version of a file the working copy had changed', async () => {
    const a = await api();
    const text = configOf((jobs) => { jobs.check = { run: "grep -n 'finding' src/findings.txt | sed 's/^\\([0-9]*\\):.*/src\\/findings.txt:\\1:1: error: a finding/'; exit 1", inputs: ['src'] }; });
    fs.writeFileSync(path.join(folder(), 'src', 'findings.txt'), 'finding\nfine here\n');
    git(folder(), 'add', 'src/findings.txt');
    await withCommittedConfig(text, async () => {
      // Changed before HEAD's check is matched: HEAD's findings go on a read-only view of the committed file.
      fs.writeFileSync(path.join(folder(), 'src', 'findings.txt'), 'finding\nfine here\nfinding\n');
      const session = a.internals.sessions.all[0]!;
      const wt = await waitFor('the working tree\'s target', () => session.worktree);
      const ofCheck = (): [string, number, string | undefined][] => vscode.languages.getDiagnostics()
        .flatMap(([uri, ds]) => ds.filter((d) => d.source?.startsWith('DataKit CI: check')).map((d): [string, number, string | undefined] => [uri.toString(), d.range.start.line, d.source]));
      await vscode.commands.executeCommand('datakitCi.build', await jobNode(a, 'check'));
      await waitFor('HEAD\'s finding, on its version of the file', () => ofCheck().some(([uri]) => uri.startsWith('datakit-ci-source:')))
        .catch((e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(ofCheck())}`); });
      await vscode.commands.executeCommand('datakitCi.buildWorkingTree', { kind: 'target', session, target: wt });
      const both = await waitFor('the working tree\'s findings', () => { const d = ofCheck(); return d.some(([, line]) => line === 2) && d; });
      const file = vscode.Uri.file(path.join(folder(), 'src', 'findings.txt')).toString();
      assert.deepStrictEqual(both.sort(), [[file, 0, 'DataKit CI: check'], [file, 2, 'DataKit CI: check · working tree']],
        'line 1 once, on the working copy (not again on HEAD\'s version), line 3 said as the working tree\'s');
    });
    fs.rmSync(path.join(folder(), 'src', 'findings.txt'), { force: true });
    await vscode.commands.executeCommand('datakitCi.refresh');
  });

  it('tells a pass → fail of a HEAD job once, with its first problem, and links the failing line of its log to the file', async () => {
    const a = await api();
    await vscode.commands.executeCommand('datakitCi.buildNow');
    await waitFor('ok to pass', async () => (await jobNode(a, 'ok')).job.status?.result.kind === 'success');
    await waitFor('bad to fail', async () => (await jobNode(a, 'bad')).job.status?.result.kind === 'failure');
    const toldBefore = a.internals.sessions.told.length;
    const text = configOf((jobs) => {
      jobs.ok!.run = "echo '=== compile'; echo 'src/main.txt:1:3: error: broken'; echo 'at src/nowhere.txt:4:1'; exit 1";
    });
    await withCommittedConfig(text, async () => {
      await vscode.commands.executeCommand('datakitCi.buildNow');
      const ok = await waitFor('ok to fail', async () => { const n = await jobNode(a, 'ok'); return n.job.status?.result.kind === 'failure' && n.job.status.output.kind === 'saved' && n; });
      await waitFor('bad to be settled', async () => (await jobNode(a, 'bad')).job.status?.result.kind === 'failure');
      const told = await waitFor('the notification', () => a.internals.sessions.told.length > toldBefore && a.internals.sessions.told.slice(toldBefore));
      // ok passed before and fails now: told, with its first problem and the way to it; bad failed before and
      // fails again: not told.
      assert.deepStrictEqual(told.map((t) => [t.text.replace(/ on .* \(it passed/, ' on HEAD (it passed'), t.actions]),
        [['DataKit CI: ok failed on HEAD (it passed before): src/main.txt:1:3: broken', ['Show Problem', 'Show Log']]]);

      // The failing line is a problem on the working copy's file (unchanged since the commit), from the
      // default matcher: src/nowhere.txt is not a file of the commit.
      const main = vscode.Uri.file(path.join(folder(), 'src', 'main.txt'));
      const problems = await waitFor('the problem', () => { const d = vscode.languages.getDiagnostics(main).filter((x) => x.source === 'DataKit CI: ok'); return d.length > 0 && d; });
      assert.deepStrictEqual(problems.map((d) => [d.range.start.line, d.range.start.character, d.severity, d.message]), [[0, 2, vscode.DiagnosticSeverity.Error, 'broken']]);
      assert.deepStrictEqual(vscode.languages.getDiagnostics().filter(([, ds]) => ds.some((d) => d.source === 'DataKit CI: ok')).map(([u]) => u.fsPath), [main.fsPath]);
      // Its row's tooltip leads with the outcome, then that first problem.
      const tip = await waitFor('the first problem in ok\'s tooltip', async () => {
        const v = ((await item(a, await jobNode(a, 'ok'))).tooltip as vscode.MarkdownString).value;
        return v.includes('First problem') && v;
      });
      assert.match(tip, /^\*\*ok\*\* failed: Command exited with code 1\n\nFirst problem: `src\/main\.txt:1:3` broken\n/);

      const decorated = new Promise<LogDecorationsApplied>((resolve) => {
        const sub = a.internals.decorator.onDidDecorate((e) => { if (e.uri.startsWith('datakit-ci-log:')) { sub.dispose(); resolve(e); } });
      });
      await vscode.commands.executeCommand('datakitCi.showLog', ok);
      const editor = await waitFor('the saved log', () => vscode.window.activeTextEditor?.document.uri.scheme === 'datakit-ci-log' && vscode.window.activeTextEditor);
      const log = editor.document;
      assert.strictEqual(path.posix.basename(log.uri.path), `ok @ ${ok.job.key.commit.slice(0, 7)}.log`, 'titled by what it was built for');
      const failing = log.getText().split('\n').findIndex((l) => l.startsWith('src/main.txt:1:3'));
      assert.ok(failing > 0, log.getText());
      // The failing line and the build's `Failed:` line stand out.
      const failedLine = log.getText().split('\n').findIndex((l) => /^\[[^\]]+\] Failed: Command exited with code 1$/.test(l));
      const shown = await decorated;
      assert.deepStrictEqual([shown.uri, shown.errorLines], [log.uri.toString(), [failing, failedLine]], log.getText());
      const links = await waitFor('the links', async () => {
        const l = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', log.uri);
        return l.length > 0 && l;
      });
      // Only the file of the commit is a link: src/nowhere.txt is not in it.
      assert.deepStrictEqual(links.map((l) => [l.range.start.line, l.range.start.character, l.range.end.character]), [[failing, 0, 'src/main.txt:1:3'.length]]);
      const target = links[0]!.target!;
      assert.strictEqual(target.scheme, 'command');
      const args = JSON.parse(decodeURIComponent(target.query)) as unknown[];
      await vscode.commands.executeCommand(target.path, ...args);
      const source = await waitFor('src/main.txt open', () => vscode.window.activeTextEditor?.document.uri.fsPath === path.join(folder(), 'src', 'main.txt') && vscode.window.activeTextEditor);
      assert.deepStrictEqual([source.selection.active.line, source.selection.active.character], [0, 2]);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

      // The outline lists the log's sections.
      const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', log.uri);
      assert.deepStrictEqual(symbols.map((s) => s.name).slice(-1), ['compile']);
      assert.match(symbols[0]!.name, /^ok @ [0-9a-f]{7}/);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

      // Its matcher is no part of the key: set to none ([]), the same result is matched again, to nothing.
      const key = ok.job.key.digest;
      fs.writeFileSync(configFile(), configOf((jobs) => { (jobs.ok as Record<string, unknown>).problemMatcher = []; }));
      git(folder(), 'commit', '-qam', 'No problem matcher for ok');
      await vscode.commands.executeCommand('datakitCi.refresh');
      await waitFor('the problems to go with the matcher', () => vscode.languages.getDiagnostics(main).every((d) => d.source !== 'DataKit CI: ok'));
      assert.strictEqual((await jobNode(a, 'ok')).job.key.digest, key);
    });
    // Back where ok passes: its problems are gone.
    await waitFor('the problems to clear', () => vscode.languages.getDiagnostics(vscode.Uri.file(path.join(folder(), 'src', 'main.txt'))).every((d) => d.source !== 'DataKit CI: ok'));
  });

  it('flags a new failure in the status bar (a HEAD job that passed fails now) with the error background and in words; not a failure that was already there, nor one that fails again when rebuilt', async () => {
    const a = await api();
    const bar = a.internals.statusBar.item;
    const background = (): string | undefined => (bar.backgroundColor as vscode.ThemeColor | undefined)?.id;
    await vscode.commands.executeCommand('datakitCi.buildNow');
    await waitFor('ok to pass', async () => (await jobNode(a, 'ok')).job.status?.result.kind === 'success');
    await waitFor('bad to fail', async () => (await jobNode(a, 'bad')).job.status?.result.kind === 'failure');
    // bad has failed since the window opened: counted, not flagged.
    await waitFor('the status bar to count bad', () => /^DataKit CI: .*\$\(pass\) \d+ \$\(error\) 1( |$)/.test(bar.text) && !bar.text.includes('(pass) 0'));
    assert.strictEqual(background(), undefined, bar.text);
    assert.match(bar.accessibilityInformation?.label ?? '', /^DataKit CI, main @ [0-9a-f]{7}: .*\d+ passed, 1 failed(, \d+ cancelled)?$/);

    const text = configOf((jobs) => { jobs.ok!.run = 'echo a new failure; exit 1'; });
    await withCommittedConfig(text, async () => {
      await vscode.commands.executeCommand('datakitCi.buildNow');
      const ok = await waitFor('ok to fail', async () => { const n = await jobNode(a, 'ok'); return n.job.status?.result.kind === 'failure' && n.job.status.output.kind === 'saved' && n; });
      await waitFor('the error background', () => background() === 'statusBarItem.errorBackground');
      assert.match(bar.text, /^DataKit CI: (.* )?\$\(error\) 2 \(1 new\)( |$)/);
      assert.match(bar.accessibilityInformation?.label ?? '', /: .*2 failed.*\. New failure \(passed before\): ok$/);
      assert.match((bar.tooltip as vscode.MarkdownString).value, /\*\*ok\*\* — Command exited with code 1 — \*\*new failure\*\* \(it passed before\)/);
      assert.doesNotMatch((bar.tooltip as vscode.MarkdownString).value, /\*\*bad\*\*[^\n]*new failure/);

      // Rebuilt, it fails again: a failure that is there already.
      const first = ok.job.status!.output.kind === 'saved' ? ok.job.status!.output.saved.commit : '';
      await vscode.commands.executeCommand('datakitCi.rebuild', ok);
      await waitFor('ok to fail again', async () => { const s = (await jobNode(a, 'ok')).job.status; return s?.result.kind === 'failure' && s.output.kind === 'saved' && s.output.saved.commit !== first; });
      // Its rebuild's result is what clears the flag: wait for the count without "(1 new)", then look.
      await waitFor('the status bar to count it failing again, not as new', () => /\$\(error\) 2( \$\(|$)/.test(bar.text));
      assert.strictEqual(background(), undefined, bar.text);
      assert.doesNotMatch(bar.accessibilityInformation?.label ?? '', /New failure/);
    });
  });

  it('registers every contributed command under its category, hides from the palette only the row-only Open the Configuration Error, and Explain Key from the palette picks a job', async () => {
    const a = await api();
    const pkg = vscode.extensions.getExtension('datakit-ci.datakit-ci')!.packageJSON as { contributes: { commands: { command: string; category?: string }[]; menus: { commandPalette?: { command: string; when: string }[] }; configuration: { properties: Record<string, { title?: string }> } } };
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of pkg.contributes.commands) {
      assert.ok(registered.has(c.command), `${c.command} is registered`);
      assert.strictEqual(c.category, 'DataKit CI', `${c.command} is under DataKit CI in the palette`);
    }
    assert.deepStrictEqual((pkg.contributes.menus.commandPalette ?? []).filter((m) => m.when === 'false').map((m) => m.command), ['datakitCi.openConfigError'], 'a command of a row: it needs the row');
    for (const [key, p] of Object.entries(pkg.contributes.configuration.properties)) { assert.ok(p.title && !/Mi B|Datakit Ci/.test(p.title), `${key} has a readable title`); }
    const session = a.internals.sessions.all[0]!;
    const first = session.targets.find((t) => t.jobs.length > 0)!;
    const running = vscode.commands.executeCommand<{ explanation: { job: string; key: string } }>('datakitCi.explainKey');
    let shown: { job: string; key: string } | undefined;
    void running.then((r) => { shown = r.explanation; });
    // Accept the first job of the quick pick (grouped by target) once it is shown.
    await waitFor('the quick pick to be answered', async () => {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      return shown !== undefined;
    });
    assert.deepStrictEqual([shown!.job, shown!.key], [first.jobs[0]!.key.job.name, first.jobs[0]!.key.digest]);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('says why Build Now started nothing: every job is cached', async () => {
    const a = await api();
    await vscode.commands.executeCommand('datakitCi.buildNow');
    const session = a.internals.sessions.all[0]!;
    // `slow` runs until released: it counts as already running.
    await waitFor('every job but slow settled', () => session.targets.every((t) => t.jobs.every((j) => j.key.job.name === 'slow' || (j.status && j.status.result.kind !== 'pending'))));
    const r = await vscode.commands.executeCommand<{ started: number; said?: string }>('datakitCi.buildNow');
    const jobs = new Map(session.targets.flatMap((t) => t.jobs.map((j) => [j.key.digest, j.status?.result.kind] as const)));
    const count = (kind: string): number => [...jobs.values()].filter((k) => k === kind).length;
    assert.strictEqual(r.started, 0);
    assert.ok(count('failure') > 0, 'bad has failed');
    const parts = [[count('success'), 'passed'], [count('failure'), 'failed'], [count('pending'), 'already running']].filter(([n]) => n).map(([n, w]) => `${n} ${w}`);
    assert.strictEqual(r.said, `DataKit CI: all ${jobs.size} jobs are cached (${parts.join(', ')}): nothing to build. Rebuild Failed runs the failed ones again.`);
  });

  it('makes every job of HEAD a task of type datakit-ci that builds a missing result and reuses a saved one', async () => {
    const a = await api();
    const tasks = await vscode.tasks.fetchTasks({ type: 'datakit-ci' });
    const names = a.internals.sessions.all[0]!.head!.jobs.map((j) => j.key.job.name);
    assert.deepStrictEqual(tasks.filter((t) => !t.name.endsWith('(working tree)')).map((t) => t.name).sort(), [...names].sort());
    const run = async (name: string): Promise<number | undefined> => {
      const task = tasks.find((t) => t.name === name)!;
      const ended = new Promise<number | undefined>((resolve) => {
        const sub = vscode.tasks.onDidEndTaskProcess((e) => { if (e.execution.task.name === name) { sub.dispose(); resolve(e.exitCode); } });
      });
      await vscode.tasks.executeTask(task);
      return ended;
    };
    // Built by the task if it was not yet, then a hit: the second run saves no build; a failure's exit code is 1.
    const { jobs } = a.internals.sessions.all[0]!;
    const ok = (await jobNode(a, 'ok')).job.key;
    assert.strictEqual(await run('ok'), 0);
    assert.strictEqual((await jobNode(a, 'ok')).job.status?.result.kind, 'success');
    const builds = (await jobs.history(ok)).length;
    assert.ok(builds > 0, 'ok has a saved result');
    assert.strictEqual(await run('ok'), 0);
    assert.strictEqual((await jobs.history(ok)).length, builds, 'the second run reused the saved result: no build was saved');
    assert.strictEqual(await run('bad'), 1);
  });
});

describe('from a repository without .datakit-ci.json to green, without writing config', function () {
  this.timeout(90_000);

  it('suggests the package.json scripts as jobs, runs them only on a click, and saves them as the file', async () => {
    const a = await api();
    const before = git(folder(), 'rev-parse', 'HEAD');
    git(folder(), 'rm', '-q', '.datakit-ci.json');
    fs.writeFileSync(path.join(folder(), 'package.json'), JSON.stringify({ name: 'fixture', scripts: { test: 'node -e "console.log(1 + 1)"', lint: 'node -e "process.exit(0)"', start: 'node server.js' } }, null, 2));
    git(folder(), 'add', 'package.json');
    git(folder(), 'commit', '-qm', 'Scripts instead of jobs');
    try {
      await vscode.commands.executeCommand('datakitCi.refresh');
      const head = await waitFor('the suggested jobs', async () => { const h = await headTarget(a); return h.target.suggested && h; });
      const headItem = await item(a, head);
      assert.deepStrictEqual([headItem.description, headItem.contextValue], ['HEAD · suggested jobs', 'target suggested']);
      const rows = await children(a, head);
      assert.deepStrictEqual(rows.map((r) => r.kind === 'message' ? r.text : r.kind === 'job' ? r.job.key.job.name : r.kind),
        ['No .datakit-ci.json: 2 jobs suggested from package.json', 'lint', 'test']);
      const test = rows[2]!;
      // Nothing ran on its own: the jobs wait for a click.
      assert.strictEqual(test.kind === 'job' && test.job.status, undefined);
      assert.strictEqual((await item(a, test)).description, 'suggested · package.json script "test"');

      const started = await vscode.commands.executeCommand<number>('datakitCi.runSuggestedJobs', head);
      assert.strictEqual(started, 2);
      const passed = await waitFor('test to pass', async () => { const n = await jobNode(a, 'test'); return n.job.status?.result.kind === 'success' && n; });
      const log = await a.internals.sessions.all[0]!.jobs.readLog((passed.job.status!.output as { saved: { commit: string } }).saved);
      assert.match(log, /\n2\n/);

      // Saved as the file: the working tree has it and runs its jobs, with the keys the suggestions had (a job
      // without inputs keys on the whole tree but .datakit-ci.json itself): what was built is kept.
      const suggestedKeys = rows.filter((r) => r.kind === 'job').map((r) => r.kind === 'job' && r.job.key.digest);
      const uri = await vscode.commands.executeCommand<vscode.Uri>('datakitCi.saveSuggestedJobs', head);
      const text = fs.readFileSync(uri.fsPath, 'utf8');
      assert.match(text, /^\/\//, 'a commented file');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      const worktree = await waitFor('the working tree target with the saved jobs', () => a.internals.sessions.all[0]!.worktree);
      assert.deepStrictEqual(worktree.jobs.map((j) => [j.key.job.name, j.key.job.run]), [['lint', 'npm run lint'], ['test', 'npm run test']]);
      assert.deepStrictEqual(worktree.jobs.map((j) => j.key.digest), suggestedKeys, 'the saved jobs have the suggestions\' keys');
      assert.strictEqual(worktree.jobs.find((j) => j.key.job.name === 'test')!.status?.result.kind, 'success', 'what was built is kept');
      assert.strictEqual(a.internals.sessions.all[0]!.head!.suggested, undefined, 'no suggestion once the working copy has the file');
    } finally {
      fs.rmSync(path.join(folder(), '.datakit-ci.json'), { force: true });
      git(folder(), 'reset', '-q', '--hard', before);
      await vscode.commands.executeCommand('datakitCi.refresh');
    }
  });
});
