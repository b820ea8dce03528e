// Where the work is: the uncommitted working tree as a target above HEAD, and every commit of the branch.
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DataKitCiApi } from '../../../src/extension/extension';
import type { Node } from '../../../src/extension/tree/treeModel';
import { api, children, git, iconOf, item, waitFor } from '../suite/helpers';

type TargetNode = Extract<Node, { kind: 'target' }>;
type JobNode = Extract<Node, { kind: 'job' }>;

const folder = (): string => vscode.workspace.workspaceFolders![0].uri.fsPath;
const side = (name: string): string => path.join(path.dirname(folder()), `work.${name}`);
const runs = (): number => (fs.existsSync(side('ran')) ? fs.readFileSync(side('ran'), 'utf8').split('\n').filter(Boolean).length : 0);

async function targets(a: DataKitCiApi): Promise<TargetNode[]> {
  return (await children(a)).filter((n): n is TargetNode => n.kind === 'target');
}

async function jobsOf(a: DataKitCiApi, t: TargetNode): Promise<JobNode[]> {
  return (await children(a, t)).filter((n): n is JobNode => n.kind === 'job');
}

/** The current node of a target (the tree's nodes are remade on each refresh), found by its label's start. */
async function target(a: DataKitCiApi, label: RegExp): Promise<TargetNode> {
  return waitFor(`a target ${label}`, async () => {
    for (const t of await targets(a)) { if (label.test(String((await item(a, t)).label))) { return t; } }
    return undefined;
  });
}

/** What the user's repository holds that a build must not change: the index (bytes and times), the refs, the objects. */
function fingerprint(): string {
  const index = path.join(folder(), '.git', 'index');
  const st = fs.statSync(index);
  return JSON.stringify([fs.readFileSync(index).toString('base64'), st.mtimeMs, git(folder(), 'for-each-ref'), git(folder(), 'count-objects', '-v')]);
}

describe('a results repository over datakitCi.maxResultsSize', function () {
  this.timeout(60_000);

  it('is brought under it in the background when the window opens', async () => {
    await api();
    const results = path.join(folder(), '.git', 'datakit-ci');
    const blob = fs.readFileSync(side('junk-blob'), 'utf8').trim();
    const size = (): number => {
      let total = 0;
      const walk = (d: string): void => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) { walk(p); } else { total += fs.statSync(p).size; } } };
      walk(path.join(results, 'objects'));
      return total;
    };
    await waitFor('the results repository under 1 MiB', () => size() < 1024 * 1024);
    assert.throws(() => git(folder(), `--git-dir=${results}`, 'cat-file', '-e', blob), 'what nothing reached was pruned');
  });
});

describe('the working tree and the commits of the branch', function () {
  this.timeout(120_000);

  it('lists the working tree above HEAD, then the earlier commits of the branch, newest first', async () => {
    const a = await api();
    const head = git(folder(), 'rev-parse', 'HEAD');
    const labels = await waitFor('four targets', async () => {
      const ts = await targets(a);
      return ts.length === 4 && Promise.all(ts.map(async (t) => String((await item(a, t)).label)));
    });
    const subjects = git(folder(), 'log', '--format=%h %s', 'main..HEAD~1').split('\n');
    assert.deepStrictEqual(labels, ['Working tree · 1 changed file', `feat @ ${head.slice(0, 7)}`, ...subjects]);
    const wt = await item(a, (await targets(a))[0]);
    assert.strictEqual(wt.contextValue, 'target worktree', 'the ▶ of the working tree');
    assert.strictEqual(iconOf(wt).id, 'edit');
    assert.match((wt.tooltip as vscode.MarkdownString).value, /- changed `wip\/w\.txt`/);
  });

  it('builds every commit of the branch with Build Now and marks the first failing one', async () => {
    const a = await api();
    const before = fingerprint();
    await vscode.commands.executeCommand('datakitCi.buildNow');
    const broke = git(folder(), 'log', '-1', '--format=%h %s', 'HEAD~1');
    await waitFor('every job of every commit to finish', async () => {
      for (const t of await targets(a)) {
        for (const j of await jobsOf(a, t)) {
          const k = j.job.status?.result.kind;
          if (k !== 'success' && k !== 'failure') { return false; }
        }
      }
      return true;
    });
    const firstNode = await target(a, new RegExp(`^${broke}$`));
    assert.strictEqual(firstNode.target.target.commit, git(folder(), 'rev-parse', 'HEAD~1'));
    const firstItem = await item(a, firstNode);
    assert.deepStrictEqual(iconOf(firstItem), { id: 'error', color: 'testing.iconFailed' });
    assert.strictEqual(firstItem.description, 'first failing: lint · 1 failed · 2 passed');
    const older = await item(a, await target(a, /^[0-9a-f]{7} Add one$/));
    assert.deepStrictEqual(iconOf(older), { id: 'pass', color: 'testing.iconPassed' });
    assert.strictEqual(older.description, '3 passed');
    assert.strictEqual((await item(a, await target(a, /^feat @/))).description, 'HEAD', 'HEAD fails too, but it is not where it broke');
    // Four targets, two distinct trees of src (Break lint, Docs only and the working tree share one): code ran twice.
    assert.strictEqual(runs(), 2);
    assert.strictEqual(fingerprint(), before, 'the user\'s repository is untouched');
  });

  it('builds the working tree with its own files from the ▶, writing nothing into the repository; committing it is a hit', async () => {
    const a = await api();
    fs.writeFileSync(path.join(folder(), 'src', 'new.txt'), 'new file\n');
    await waitFor('the new file to be seen', async () => String((await item(a, (await targets(a))[0])).label) === 'Working tree · 2 changed files');
    const before = fingerprint();
    const wt = (await targets(a))[0];
    assert.ok(wt.target.target.worktree);
    await vscode.commands.executeCommand('datakitCi.buildWorkingTree', wt);
    const built = await waitFor('the working tree\'s jobs to finish', async () => {
      const js = await jobsOf(a, (await targets(a))[0]);
      return js.every((j) => j.job.status && j.job.status.result.kind !== 'pending') && js;
    });
    const code = built.find((j) => j.job.key.job.name === 'code')!;
    assert.strictEqual(code.job.status?.result.kind, 'success');
    assert.strictEqual(runs(), 3, 'code ran for the new content');
    const saved = code.job.status.output.kind === 'saved' ? code.job.status.output.saved.commit : assert.fail('saved');
    const results = path.join(folder(), '.git', 'datakit-ci');
    assert.match(git(folder(), `--git-dir=${results}`, 'show', `${saved}:log`), /a\none\nbad\nnew file\n/, 'the checkout had the new file');
    assert.match(git(folder(), `--git-dir=${results}`, 'log', '-1', '--format=%s', saved), /^code @ working tree on [0-9a-f]{7}: passed in /);
    assert.strictEqual(fingerprint(), before, 'no object, index entry or ref written into the user\'s repository');

    git(folder(), 'add', '-A');
    git(folder(), 'commit', '-qm', 'Commit the working tree');
    const head = git(folder(), 'rev-parse', 'HEAD');
    const headNode = await target(a, new RegExp(`^feat @ ${head.slice(0, 7)}$`));
    const jobs = await jobsOf(a, headNode);
    assert.deepStrictEqual(jobs.map((j) => [j.job.key.job.name, j.job.status?.result.kind]), [['code', 'success'], ['lint', 'failure'], ['hold', 'success']], 'every job a hit');
    const headCode = jobs[0].job.status!;
    assert.strictEqual(headCode.output.kind === 'saved' && headCode.output.saved.commit, saved, 'the working tree\'s result');
    assert.strictEqual(runs(), 3, 'nothing ran again');
    const codeItem = await item(a, jobs[0]);
    assert.match(String(codeItem.description), /^passed · cached · /);
    assert.match((codeItem.tooltip as vscode.MarkdownString).value, /^\*\*code\*\* passed\n\nCached · built from the working tree on [0-9a-f]{7}\./);
    await waitFor('the working tree target to go (nothing uncommitted)', async () => !(await targets(a))[0].target.target.worktree);
  });

  it('builds on save when asked; a newer save cancels the older working-tree build of the same job', async () => {
    const a = await api();
    await vscode.workspace.getConfiguration('datakitCi').update('buildWorkingTree', 'onSave', vscode.ConfigurationTarget.Global);
    try {
      fs.writeFileSync(path.join(folder(), 'wip', 'hold'), ''); // hold waits for the release file while this exists
      await waitFor('the working tree to show wip/hold', async () => {
        const wt = (await targets(a))[0];
        return wt.target.target.worktree && a.internals.sessions.all[0].worktreeChanges?.changes.has('wip/hold');
      });
      const doc = await vscode.workspace.openTextDocument(path.join(folder(), 'wip', 'w.txt'));
      const editor = await vscode.window.showTextDocument(doc);
      const saveAs = async (text: string): Promise<void> => {
        await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), text));
        assert.ok(await doc.save());
      };
      await saveAs('first save\n');
      const first = await waitFor('hold to run for the first save', async () => {
        const wt = (await targets(a))[0];
        const j = wt?.target.target.worktree && (await jobsOf(a, wt)).find((n) => n.job.key.job.name === 'hold');
        return j && j.job.status?.result.kind === 'pending' && j.job.status.result.reason === 'Running' && j.job.key;
      });
      await saveAs('second save\n');
      const cancelled = await waitFor('the first save\'s build to be cancelled', () => {
        const s = a.internals.sessions.all[0].jobs.peek(first);
        return s?.result.kind === 'failure' && s.result.message;
      });
      assert.strictEqual(cancelled, 'Cancelled');
      fs.writeFileSync(side('release'), '');
      const second = await waitFor('hold to pass for the second save', async () => {
        const j = (await jobsOf(a, (await targets(a))[0])).find((n) => n.job.key.job.name === 'hold');
        return j && j.job.key.digest !== first.digest && j.job.status?.result.kind === 'success' && j.job.status;
      });
      const log = second.output.kind === 'saved' ? git(folder(), `--git-dir=${path.join(folder(), '.git', 'datakit-ci')}`, 'show', `${second.output.saved.commit}:log`) : '';
      assert.match(log, /second save/);
    } finally {
      await vscode.workspace.getConfiguration('datakitCi').update('buildWorkingTree', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});

describe('results saved by another process', function () {
  this.timeout(120_000);

  it('shows a job another process builds as such, then its result, without a reload', async () => {
    const a = await api();
    fs.rmSync(side('release'), { force: true });
    fs.writeFileSync(path.join(folder(), 'wip', 'hold'), 'a key never built\n');
    git(folder(), 'add', '-A');
    git(folder(), 'commit', '-qm', 'Hold on');
    const head = git(folder(), 'rev-parse', 'HEAD');
    const holdOf = async (): Promise<JobNode | undefined> => {
      const t = (await targets(a)).find((n) => n.target.target.isHead && n.target.target.commit === head);
      return t && (await jobsOf(a, t)).find((j) => j.job.key.job.name === 'hold');
    };
    await waitFor('the new HEAD in the tree', holdOf);
    const cli = path.join(vscode.extensions.getExtension('datakit-ci.datakit-ci')!.extensionPath, 'dist', 'cli.js');
    // The extension host's own runtime runs the command line (under Electron, as Node).
    const env = { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(path.dirname(folder()), 'cli-cache'), ELECTRON_RUN_AS_NODE: '1' };
    const child = spawn(process.execPath, [cli, 'build', 'hold'], { cwd: folder(), env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const elsewhere = await waitFor('the tree to show the other process building', async () => {
        const j = await holdOf();
        return j && j.job.elsewhere !== undefined && j;
      });
      assert.strictEqual(elsewhere.job.elsewhere, child.pid);
      assert.match(String((await item(a, elsewhere)).description), new RegExp(`^Building in another process \\(pid ${child.pid}\\)`));
      fs.writeFileSync(side('release'), '');
      assert.strictEqual(await exited, 0);
      const ref = a.internals.sessions.all[0].jobs.ref(elsewhere.job.key);
      const saved = git(folder(), `--git-dir=${path.join(folder(), '.git', 'datakit-ci')}`, 'rev-parse', ref);
      const done = await waitFor('the other process\'s result in the tree', async () => {
        const j = await holdOf();
        const s = j?.job.status;
        return j && j.job.elsewhere === undefined && s?.result.kind === 'success' && s.output.kind === 'saved' && s.output.saved.commit === saved && j;
      });
      assert.match(String((await item(a, done)).description), /^passed · /);

      // A result this window holds, rebuilt by another process: the window reads it again.
      for (const args of [['rebuild', 'hold'], ['build', 'hold']]) {
        const r = spawnSync(process.execPath, [cli, ...args], { cwd: folder(), env, encoding: 'utf8' });
        assert.strictEqual(r.status, 0, r.stderr);
      }
      const ended = Date.now();
      const rebuilt = git(folder(), `--git-dir=${path.join(folder(), '.git', 'datakit-ci')}`, 'rev-parse', ref);
      assert.notStrictEqual(rebuilt, saved);
      await waitFor('the rebuilt result in the tree', async () => {
        const s = (await holdOf())?.job.status;
        return s?.output.kind === 'saved' && s.output.saved.commit === rebuilt;
      });
      console.log(`    (the other process's result was in the tree ${Date.now() - ended} ms after it ended)`);
    } finally {
      child.kill();
      fs.writeFileSync(side('release'), '');
    }
  });
});

describe('results shared through the repository\'s remote', function () {
  this.timeout(120_000);

  it('fetches the results a CI clone pushed, and shows them as fetched, without running anything', async () => {
    const a = await api();
    const root = path.dirname(folder());
    const remote = path.join(root, 'origin.git');
    fs.writeFileSync(path.join(folder(), 'src', 'shared.txt'), 'built by CI\n');
    git(folder(), 'add', '-A');
    git(folder(), 'commit', '-qm', 'Shared');
    git(root, 'init', '-q', '--bare', remote);
    git(folder(), 'remote', 'add', 'origin', remote);
    git(folder(), 'push', '-q', 'origin', 'HEAD:refs/heads/feat');
    const ci = path.join(root, 'ci-clone');
    git(root, 'clone', '-q', '-b', 'feat', remote, ci);
    const cli = path.join(vscode.extensions.getExtension('datakit-ci.datakit-ci')!.extensionPath, 'dist', 'cli.js');
    const env = { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(root, 'ci-cache'), ELECTRON_RUN_AS_NODE: '1', CI: 'true', GITHUB_ACTIONS: 'true' };
    const built = spawnSync(process.execPath, [cli, 'build', 'code', '--push'], { cwd: ci, env, encoding: 'utf8' });
    assert.strictEqual(built.status, 0, built.stderr);
    assert.match(built.stderr, /pushed to origin: \d+ sent/);
    const ranBefore = runs();

    const head = git(folder(), 'rev-parse', 'HEAD');
    const codeOf = async (): Promise<JobNode | undefined> => {
      const t = (await targets(a)).find((n) => n.target.target.isHead && n.target.target.commit === head);
      return t && (await jobsOf(a, t)).find((j) => j.job.key.job.name === 'code');
    };
    assert.strictEqual((await waitFor('the new HEAD in the tree', codeOf)).job.status, undefined, 'not built here');
    const fetched = await vscode.commands.executeCommand<{ results: number }[]>('datakitCi.fetchResults');
    assert.ok(fetched && fetched[0].results >= 1);
    const code = await waitFor('code to show the fetched result', async () => { const j = await codeOf(); return j?.job.status?.result.kind === 'success' && j; });
    const it = await item(a, code);
    assert.match(String(it.description), /^passed · cached · /);
    assert.match((it.tooltip as vscode.MarkdownString).value, /\n\nCached · fetched from origin, unverified\.\n/);
    assert.match((it.tooltip as vscode.MarkdownString).value, /\| built by \| \S+ \(\S+, datakit-ci [\d.]+, GitHub Actions\), fetched from origin \|/);
    assert.strictEqual(runs(), ranBefore, 'no command ran in this window');
  });

  it('shows a fetched result\'s hostile failure message and Built-By neutralised in its row, tooltip and screen-reader label', async () => {
    const a = await api();
    const root = path.dirname(folder());
    const remote = path.join(root, 'origin.git'); // the previous test's
    const ci = path.join(root, 'ci-clone');
    const cli = path.join(vscode.extensions.getExtension('datakit-ci.datakit-ci')!.extensionPath, 'dist', 'cli.js');
    const env = { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(root, 'ci-cache'), ELECTRON_RUN_AS_NODE: '1', CI: 'true', GITHUB_ACTIONS: 'true' };
    assert.strictEqual(spawnSync(process.execPath, [cli, 'build', 'lint', '--push'], { cwd: ci, env, encoding: 'utf8' }).status, 1, 'lint fails at HEAD');
    // A teammate with push access replaces lint's result on the remote: same key, its own words.
    const results = path.join(ci, '.git', 'datakit-ci');
    const ref = git(ci, `--git-dir=${results}`, 'for-each-ref', '--format=%(refname)', 'refs/heads/shell/lint/');
    const real = git(ci, `--git-dir=${results}`, 'rev-parse', ref);
    const hostile = '\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \x1b]0;owned\x07\x1b[2J \u009b31m \u202egnp.exe';
    const stdin = (input: string, ...args: string[]): string => {
      const r = spawnSync('git', [`--git-dir=${results}`, ...args], { input, encoding: 'utf8' });
      assert.strictEqual(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    const failure = stdin(hostile, 'hash-object', '-w', '--stdin');
    const tree = stdin(git(ci, `--git-dir=${results}`, 'ls-tree', real).split('\n').map((l) => (l.endsWith('\tfailure') ? `100644 blob ${failure}\tfailure` : l)).join('\n') + '\n', 'mktree');
    const source = git(ci, 'rev-parse', 'HEAD');
    const forged = stdin(`lint @ ${source.slice(0, 7)}: failed after 0.1 s: ${hostile}\n\nJob: lint\nSource-Commit: ${source}\nBuilt-By: ${hostile}\nRun-Time-Ms: 100\nReason: failed\n`, 'commit-tree', tree, '-F', '-');
    git(ci, `--git-dir=${results}`, 'push', '-q', '--force', remote, `${forged}:refs/datakit-ci/${ref.slice('refs/heads/'.length)}`);

    const head = git(folder(), 'rev-parse', 'HEAD');
    assert.strictEqual(source, head);
    await vscode.commands.executeCommand('datakitCi.fetchResults');
    const lint = await waitFor('lint to show the fetched failure', async () => {
      const t = (await targets(a)).find((n) => n.target.target.isHead && n.target.target.commit === head);
      const j = t && (await jobsOf(a, t)).find((n) => n.job.key.job.name === 'lint');
      return j?.job.status?.result.kind === 'failure' && j.job.status.result.message.includes('evil') && j;
    });
    const row = await item(a, lint);
    const tooltip = (row.tooltip as vscode.MarkdownString).value;
    // eslint-disable-next-line no-control-regex
    const acting = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
    for (const [what, text] of [['description', String(row.description)], ['tooltip', tooltip], ['screen-reader label', row.accessibilityInformation?.label ?? '']]) {
      assert.doesNotMatch(text, acting, `${what}: ${JSON.stringify(text)}`);
    }
    assert.match(String(row.description), /^\ufffd\]8;;https:\/\/evil/, 'the message is shown, neutralised');
    assert.match(tooltip, /\| built by \| \ufffd\\\]8;;https:\/\/evil\.example\/\ufffdclick/);
  });

  it('lists the branch\'s commits again when its upstream moves (a fetch), without a refresh', async () => {
    const a = await api();
    const session = a.internals.sessions.all[0]!;
    const root = path.dirname(folder());
    const remote = path.join(root, 'origin.git'); // the previous test's
    const earlier = (): number => session.targets.filter((t) => !t.target.isHead && !t.target.worktree).length;
    git(folder(), 'push', '-q', '-f', 'origin', 'HEAD~2:refs/heads/up');
    git(folder(), 'fetch', '-q', 'origin');
    git(folder(), 'branch', '-q', '--set-upstream-to', 'origin/up');
    try {
      await vscode.commands.executeCommand('datakitCi.refresh');
      await waitFor('the two commits the upstream lacks', () => earlier() === 1 && session.branch?.total === 2);
      // The upstream catches up elsewhere; here, only a fetch.
      const other = path.join(root, 'other-clone');
      git(root, 'clone', '-q', remote, other);
      git(other, 'fetch', '-q', folder(), 'HEAD');
      git(other, 'push', '-q', 'origin', 'FETCH_HEAD:refs/heads/up');
      git(folder(), 'fetch', '-q', 'origin');
      // HEAD on its upstream: HEAD alone.
      await waitFor('HEAD alone, on its upstream', () => earlier() === 0 && session.branch?.total === 1);
    } finally {
      git(folder(), 'branch', '-q', '--unset-upstream');
    }
  });

  it('shows a job another runner of a spread commit builds as "building on <runner>", then its result, without running it here', async () => {
    const a = await api();
    const root = path.dirname(folder());
    const remote = path.join(root, 'origin.git'); // the first test's
    fs.rmSync(side('release'), { force: true });
    fs.writeFileSync(path.join(folder(), 'wip', 'hold'), 'claimed by a runner\n'); // hold waits for the release file
    git(folder(), 'add', '-A');
    git(folder(), 'commit', '-qm', 'Spread over runners');
    git(folder(), 'push', '-q', '-f', 'origin', 'HEAD:refs/heads/spread');
    const clone = path.join(root, 'runner-clone');
    git(root, 'clone', '-q', '-b', 'spread', remote, clone);
    const cli = path.join(vscode.extensions.getExtension('datakit-ci.datakit-ci')!.extensionPath, 'dist', 'cli.js');
    const env = { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(root, 'runner-cache'), ELECTRON_RUN_AS_NODE: '1', CI: 'true', GITHUB_ACTIONS: 'true' };
    const runner = spawn(process.execPath, [cli, 'build', 'hold', '--fetch', '--push', '--runners', '2'], { cwd: clone, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    runner.stderr!.on('data', (b: Buffer) => { said += b.toString(); });
    const exited = new Promise<number | null>((r) => runner.on('exit', (code) => r(code)));
    const head = git(folder(), 'rev-parse', 'HEAD');
    const holdOf = async (): Promise<JobNode | undefined> => {
      const t = (await targets(a)).find((n) => n.target.target.isHead && n.target.target.commit === head);
      return t && (await jobsOf(a, t)).find((j) => j.job.key.job.name === 'hold');
    };
    try {
      await waitFor('the runner\'s claim of hold on origin', () => git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci-claims/') !== '');
      await waitFor('the new HEAD in the tree', holdOf);
      await vscode.commands.executeCommand('datakitCi.fetchResults');
      const claimed = await waitFor('hold shown as claimed by the runner', async () => { const j = await holdOf(); return j?.job.claimedBy !== undefined && j; });
      const row = await item(a, claimed);
      assert.match(String(row.description), new RegExp(`^building on [ -~]+ pid ${runner.pid}$`));
      assert.strictEqual(iconOf(row).id, 'cloud');
      assert.match(row.accessibilityInformation?.label ?? '', new RegExp(`^hold, building on [ -~]+ pid ${runner.pid}$`));
      assert.strictEqual(claimed.job.status, undefined, 'no result here, and nothing building here');
      // The status bar counts it apart (a cloud), not among the jobs not built, and names the runner.
      const bar = a.internals.statusBar.item;
      await waitFor('the status bar to count hold as building on another runner', () => / \$\(cloud\) 1 /.test(bar.text));
      assert.match(bar.accessibilityInformation?.label ?? '', /: (.+, )?1 building on another runner, /);
      const tip = bar.tooltip instanceof vscode.MarkdownString ? bar.tooltip.value : String(bar.tooltip);
      assert.match(tip, new RegExp(`\\$\\(cloud\\) \\*\\*hold\\*\\* — building on [^\\n]+ pid ${runner.pid}`));

      fs.writeFileSync(side('release'), '');
      assert.strictEqual(await exited, 0, said);
      await vscode.commands.executeCommand('datakitCi.fetchResults');
      const done = await waitFor('hold to show the runner\'s result', async () => { const j = await holdOf(); return j?.job.status?.result.kind === 'success' && j; });
      assert.strictEqual(done.job.claimedBy, undefined, 'the claim went with the result');
      assert.match(String((await item(a, done)).description), /^passed · cached · /);
      await waitFor('the status bar to count hold among the passed, no longer on another runner', () => !bar.text.includes('$(cloud)'));
    } finally {
      fs.writeFileSync(side('release'), '');
      runner.kill();
    }
  });
});
