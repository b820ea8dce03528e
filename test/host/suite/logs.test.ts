import * as assert from 'assert';
import * as vscode from 'vscode';
import { LogManager, type LiveLog } from '../../../src/engine/liveLog';
import { LOG_SCHEME, LogDocumentProvider, registerLogViews, type LogViews } from '../../../src/extension/logs';

const E = '\x1b';
const COMMIT = 'a'.repeat(40);
const PLAIN_COMMIT = 'b'.repeat(40);
const SAVED = `=== test\n[2024-01-02 03:04:05] Starting...\n${E}[1mnpm test${E}[0m\n\n` +
  `=== Output\n${E}[32m✓ ok${E}[0m one\n${E}[31m✗ ${E}[38;5;208mfail${E}[0m two\nthree\n\n=== Result\nFailed: 1 test\n`;
const SAVED_TEXT = '=== test\n[2024-01-02 03:04:05] Starting...\nnpm test\n\n' +
  '=== Output\n✓ ok one\n✗ fail two\nthree\n\n=== Result\nFailed: 1 test\n';

/** Resolves at the first event that `accept` takes. */
function next<T>(event: (l: (e: T) => void) => vscode.Disposable, accept: (e: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((e) => { if (accept(e)) { sub.dispose(); resolve(e); } });
  });
}

describe('log views', () => {
  const context: { subscriptions: vscode.Disposable[] } = { subscriptions: [] };
  let views: LogViews;
  const reads: string[] = [];

  before(() => {
    views = registerLogViews(context, (repoKey) => repoKey !== 'demo-repo' ? undefined : {
      readLog: async ({ commit }) => {
        reads.push(commit);
        if (commit === COMMIT) { return SAVED; }
        if (commit === PLAIN_COMMIT) { return 'no colours here\n'; }
        throw new Error(`no commit ${commit}`);
      },
    }, { maxChannels: 3 });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const d of context.subscriptions) { d.dispose(); }
  });

  describe('output channels', () => {
    const manager = new LogManager();
    after(() => manager.dispose());

    it('follows a live log in batches, without ANSI codes, until it finishes', async () => {
      const log = manager.create('shell/test-1', 'test');
      log.heading('test');
      const before = views.channels.appendCalls;
      const appended: string[] = [];
      const sub = views.channels.onDidAppend((a) => { if (a.name === 'DataKit CI: test @ 1a2b3c4') { appended.push(a.text); } });
      const channel = views.channels.show(log, 'test @ 1a2b3c4');
      assert.strictEqual(channel.name, 'DataKit CI: test @ 1a2b3c4');
      // What was written before `show` arrives in the first batch, with what follows at once.
      log.write(`${E}[32mhello${E}[0m `);
      log.write(`${E}[3`); // An escape sequence split across two writes.
      log.write('1mworld\n');
      const first = await next(views.channels.onDidAppend);
      assert.deepStrictEqual(first, { name: 'DataKit CI: test @ 1a2b3c4', text: '=== test\nhello world\n' });
      assert.strictEqual(views.channels.appendCalls, before + 1);

      // 10,000 writes: a handful of appends (one per 64 KB, then the rest at finish).
      let expected = '';
      for (let i = 0; i < 10_000; i++) {
        log.write(`line ${i} ${E}[1mbold${E}[22m and some more text\n`);
        expected += `line ${i} bold and some more text\n`;
      }
      log.finish();
      sub.dispose();
      assert.strictEqual(appended.slice(1).join(''), expected);
      assert.ok(views.channels.appendCalls - before < 50, `${views.channels.appendCalls - before} appends`);
      assert.strictEqual(views.channels.appendCalls - before, appended.length);
      assert.strictEqual(views.channels.textOf('test @ 1a2b3c4'), '=== test\nhello world\n' + expected);
      assert.strictEqual(views.channels.textOf('nothing'), undefined);

      // Finished: later writes are neither delivered nor followed.
      const calls = views.channels.appendCalls;
      log.write('after the end\n');
      assert.strictEqual(views.channels.appendCalls, calls);
    });

    it('reuses the channel of an entry and keeps at most maxChannels, least recently shown dropped', () => {
      const logs: LiveLog[] = [];
      for (let i = 0; i < 5; i++) {
        logs.push(manager.create(`shell/job-${i}`, `job ${i}`));
        views.channels.show(logs[i], `job ${i} @ 0000000`);
      }
      assert.deepStrictEqual(views.channels.channelNames,
        ['DataKit CI: job 2 @ 0000000', 'DataKit CI: job 3 @ 0000000', 'DataKit CI: job 4 @ 0000000']);
      const again = views.channels.show(logs[2], 'job 2 @ 0000000');
      assert.deepStrictEqual(views.channels.channelNames,
        ['DataKit CI: job 3 @ 0000000', 'DataKit CI: job 4 @ 0000000', 'DataKit CI: job 2 @ 0000000']);
      // A new build of the same entry follows in the same channel, cleared.
      logs[2].write('old build\n');
      logs[2].finish();
      assert.strictEqual(views.channels.textOf('job 2 @ 0000000'), 'old build\n');
      const rebuilt = manager.create('shell/job-2', 'job 2');
      rebuilt.write('new build\n');
      assert.strictEqual(views.channels.show(rebuilt, 'job 2 @ 0000000'), again);
      rebuilt.finish();
      assert.strictEqual(views.channels.textOf('job 2 @ 0000000'), 'new build\n');
      for (const l of logs) { l.finish(); }
    });

    it('shows a finished log in one append', () => {
      const log = manager.create('shell/done', 'done');
      for (let i = 0; i < 100; i++) { log.write(`${E}[36m${i}${E}[0m\n`); }
      log.finish();
      const before = views.channels.appendCalls;
      views.channels.show(log, 'done @ 0000000');
      assert.strictEqual(views.channels.appendCalls, before + 1);
      assert.strictEqual(views.channels.textOf('done @ 0000000'), Array.from({ length: 100 }, (_, i) => `${i}\n`).join(''));
    });
  });

  describe('saved log documents', () => {
    it('shows the saved log without ANSI codes, read-only, in the datakit-ci-log language', async () => {
      const uri = LogDocumentProvider.uri('demo-repo', COMMIT, 'test @ 1a2b3c4');
      assert.strictEqual(uri.toString(true), `datakit-ci-log:/demo-repo/${COMMIT}/test @ 1a2b3c4.log`);
      assert.deepStrictEqual(LogDocumentProvider.parse(uri), { repoKey: 'demo-repo', commit: COMMIT });
      const decorated = next(views.decorator.onDidDecorate, (d) => d.uri === uri.toString());
      const editor = await views.documents.open(uri);
      assert.strictEqual(editor.document.getText(), SAVED_TEXT);
      assert.strictEqual(editor.document.uri.toString(), uri.toString());
      const known = (await vscode.languages.getLanguages()).includes('datakit-ci-log');
      // Until package.json contributes the language, the document keeps the language of `.log` files.
      assert.strictEqual(editor.document.languageId, known ? 'datakit-ci-log' : 'log');

      const applied = await decorated;
      assert.deepStrictEqual(applied.styles.map((s) => ({
        style: s.style,
        ranges: s.ranges.map((r) => [r.start.line, r.start.character, r.end.line, r.end.character]),
      })), [
        { style: { bold: true }, ranges: [[2, 0, 2, 8]] },
        { style: { fg: 'terminal.ansiGreen' }, ranges: [[5, 0, 5, 4]] },
        { style: { fg: 'terminal.ansiRed' }, ranges: [[6, 0, 6, 2]] },
        { style: { fg: '#ff8700' }, ranges: [[6, 2, 6, 6]] },
      ]);
      // Read-only: typing into the editor changes nothing, where it does change a writable document.
      const scratch = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: '' }));
      await vscode.commands.executeCommand('type', { text: 'Z' });
      assert.strictEqual(scratch.document.getText(), 'Z');
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      // Shown again, the log is decorated again, from the colours kept of it (no second read).
      const readsBefore = reads.length;
      const redrawn = next(views.decorator.onDidDecorate, (d) => d.uri === uri.toString());
      await vscode.window.showTextDocument(editor.document);
      assert.deepStrictEqual((await redrawn).styles.map((s) => s.ranges.length), [1, 1, 1, 1]);
      assert.strictEqual(reads.length, readsBefore);
      await vscode.commands.executeCommand('type', { text: 'Z' });
      assert.strictEqual(editor.document.getText(), SAVED_TEXT);
      assert.strictEqual(editor.document.isDirty, false);
    });

    it('folds each === section up to the next heading', async () => {
      const uri = LogDocumentProvider.uri('demo-repo', COMMIT, 'test');
      await views.documents.open(uri);
      const ranges = await vscode.commands.executeCommand<vscode.FoldingRange[]>('vscode.executeFoldingRangeProvider', uri);
      assert.deepStrictEqual(ranges.map((r) => [r.start, r.end, r.kind]), [
        [0, 2, vscode.FoldingRangeKind.Region],
        [4, 7, vscode.FoldingRangeKind.Region],
        [9, 10, vscode.FoldingRangeKind.Region],
      ]);
    });

    it('decorates nothing in a log without colours', async () => {
      const uri = LogDocumentProvider.uri('demo-repo', PLAIN_COMMIT, 'plain');
      const decorated = next(views.decorator.onDidDecorate, (d) => d.uri === uri.toString());
      const editor = await views.documents.open(uri);
      assert.strictEqual(editor.document.getText(), 'no colours here\n');
      assert.deepStrictEqual((await decorated).styles, []);
    });

    it('refuses an unknown repository key, a malformed commit, other path shapes and unreadable commits', async () => {
      const unknown = LogDocumentProvider.uri('other-repo', COMMIT, 'x');
      const bad = [
        unknown,
        vscode.Uri.parse(`datakit-ci-log:/demo-repo/${'A'.repeat(40)}/x.log`),
        vscode.Uri.parse('datakit-ci-log:/demo-repo/1234/x.log'),
        vscode.Uri.parse(`datakit-ci-log:/demo-repo/${COMMIT}/x.log/extra`),
        vscode.Uri.parse(`datakit-ci-log:/demo-repo/${COMMIT}/x.txt`),
        vscode.Uri.parse(`datakit-ci-log:/demo-repo/${COMMIT}/x.log?path=/etc/passwd`),
        vscode.Uri.parse(`datakit-ci-log://host/demo-repo/${COMMIT}/x.log`),
        vscode.Uri.parse(`datakit-ci-log:/../../etc/passwd`),
      ];
      const readsBefore = reads.length;
      for (const uri of bad) {
        await assert.rejects(Promise.resolve(views.documents.provideTextDocumentContent(uri)),
          { code: 'LogNotFound', message: `No saved DataKit CI log at ${uri.toString()}` });
      }
      assert.strictEqual(reads.length, readsBefore);
      const missing = LogDocumentProvider.uri('demo-repo', 'c'.repeat(40), 'x');
      await assert.rejects(Promise.resolve(views.documents.provideTextDocumentContent(missing)),
        { code: 'LogNotFound', message: `No saved DataKit CI log at ${missing.toString()}: no commit ${'c'.repeat(40)}` });
      // Through VS Code, the error reaches whoever opens the document.
      await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(unknown)),
        (e: Error) => e.message.includes(`No saved DataKit CI log at ${unknown.toString()}`));
      assert.throws(() => LogDocumentProvider.uri('demo-repo', 'HEAD', 'x'), { code: 'InvalidArgument' });
      assert.throws(() => LogDocumentProvider.uri('../x', COMMIT, 'x'), { code: 'InvalidArgument' });
      assert.strictEqual(LogDocumentProvider.uri('demo-repo', COMMIT, 'a/b\\c\n').path, `/demo-repo/${COMMIT}/a_b_c_.log`);
      assert.strictEqual(LOG_SCHEME, 'datakit-ci-log');
    });
  });
});
