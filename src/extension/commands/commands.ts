// The commands: every user action goes through here, and errors become messages in exactly one place.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { changedInputs } from '../../jobs/keys/key';
import { plannedRestore, restoreOutputs, restoreProblem } from '../../jobs/run/outputs';
import type { HistoryCharts } from '../views/historyChart';
import type { ReadOnlyViews } from '../views/readOnlyViews';
import { CHANNEL_PREFIX, type LogChannels, type LogDocumentProvider, type LogLinks } from '../logs';
import { FULL_COMMIT, type SourceFiles } from '../problems/sourceFiles';
import { repositoryPath } from '../../jobs/problems/matchLog';
import { CONFIG_FILE, type ConfigError } from '../../jobs/config/config';
import type { SourceRepo } from '../../store/source/sourceRepo';
import { blobIds } from '../../store/source/worktree';
import type { JobView, Session, TargetView } from '../session/session';
import type { Sessions } from '../session/sessions';
import { firstConfigError, type Node } from '../tree/treeModel';

type JobNode = Extract<Node, { kind: 'job' }>;
type BuildNode = Extract<Node, { kind: 'build' }>;

export const STARTER_CONFIG = `// Jobs that DataKit CI runs for each commit. See the JSON schema for every field.
{
  "jobs": {
    "build": { "run": "npm ci && npm run build", "inputs": ["src", "package.json", "package-lock.json"], "outputs": ["dist/**"] },
    "test": { "run": "npm test", "timeout": "10m" }
  }
}
`;

export interface CommandDeps {
  sessions: Sessions;
  channels: LogChannels;
  documents: LogDocumentProvider;
  output: vscode.LogOutputChannel;
  charts: HistoryCharts;
  views: ReadOnlyViews;
  links: LogLinks;
  sources: SourceFiles;
  refreshTree(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- command arguments come from VS Code untyped
type CommandFn = (...args: any[]) => unknown;

function requireTrust(): void {
  if (!vscode.workspace.isTrusted) { throw new DataKitError('Untrusted', 'This workspace is not trusted, so no job runs. Trust it to build.'); }
}

function register(context: vscode.ExtensionContext, output: vscode.LogOutputChannel, id: string, fn: CommandFn): void {
  context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await fn(...args);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      output.error(`${id}: ${msg}`);
      // Not awaited: a command must not hang until someone answers the notification.
      void vscode.window.showErrorMessage(`DataKit CI: ${msg}`, 'Open Log').then((pick) => { if (pick) { output.show(); } });
      return undefined;
    }
  }));
}

/**
 * A job from a tree node, or, from the palette, one picked among the jobs of every target shown (the working
 * tree, HEAD, the branch's commits…), grouped by target; `filter` keeps those the command can act on.
 */
async function jobArg(deps: CommandDeps, arg: unknown, filter: (j: JobView) => boolean = () => true): Promise<{ session: Session; job: JobView } | undefined> {
  const n = arg as Partial<JobNode> | undefined;
  if (n && n.session && n.job) { return { session: n.session, job: n.job }; } // a tree row, a notification…
  type Pick = vscode.QuickPickItem & { session?: Session; job?: JobView };
  const picks: Pick[] = [];
  const several = deps.sessions.all.length > 1;
  for (const session of deps.sessions.all) {
    for (const target of session.targets) {
      const jobs = target.jobs.filter(filter);
      if (jobs.length === 0) { continue; }
      picks.push({ label: several ? `${session.name} · ${target.target.label}` : target.target.label, kind: vscode.QuickPickItemKind.Separator });
      for (const job of jobs) {
        picks.push({ label: job.key.job.name, description: stateWords(job), detail: target.target.isHead ? undefined : `${target.target.label} (${target.target.commit.slice(0, 7)})`, session, job });
      }
    }
  }
  if (picks.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no job this command can act on.'); return undefined; }
  const picked = await vscode.window.showQuickPick(picks, { placeHolder: 'Pick a job (grouped by commit)', matchOnDescription: true, matchOnDetail: true });
  return picked?.session && picked.job ? { session: picked.session, job: picked.job } : undefined;
}

/** Why Build Now started nothing: every job shown is cached (or already running), counted by distinct key. */
export function nothingToBuild(all: readonly Session[]): string {
  const byKey = new Map<string, JobView>();
  for (const s of all) { for (const t of s.targets) { for (const j of t.jobs) { byKey.set(j.key.digest, j); } } }
  if (byKey.size === 0) { return 'no job to build: no .datakit-ci.json declares any.'; }
  const jobs = [...byKey.values()];
  const count = (kind: string): number => jobs.filter((j) => (j.status?.result.kind ?? 'none') === kind).length;
  const [passed, failed, running] = [count('success'), count('failure'), count('pending')];
  const parts = [passed && `${passed} passed`, failed && `${failed} failed`, running && `${running} already running`].filter(Boolean).join(', ');
  const which = jobs.length === 1 ? 'the only job is' : `all ${jobs.length} jobs are`;
  return `${which} ${running === jobs.length ? 'already running' : 'cached'}${parts ? ` (${parts})` : ''}: nothing to build.${failed ? ' Rebuild Failed runs the failed ones again.' : ''}`;
}

function stateWords(job: JobView): string {
  const r = job.status?.result;
  if (!r) { return 'not built'; }
  if (r.kind === 'pending') { return r.reason; }
  return r.kind === 'success' ? 'passed' : r.message.split('\n')[0]!;
}

export function registerCommands(context: vscode.ExtensionContext, deps: CommandDeps): void {
  const { sessions, output } = deps;
  const reg = (id: string, fn: CommandFn) => register(context, output, id, fn);

  reg('datakitCi.refresh', async () => {
    await Promise.all(sessions.all.map((s) => s.refresh()));
    deps.refreshTree();
  });

  reg('datakitCi.buildNow', async () => {
    requireTrust();
    let started = 0;
    for (const s of sessions.all) { await s.refresh(); started += await s.build('all'); }
    const said = started === 0 ? `DataKit CI: ${nothingToBuild(sessions.all)}` : undefined;
    if (said) { void vscode.window.showInformationMessage(said); }
    return { started, said };
  });

  reg('datakitCi.buildWorkingTree', async (arg?: unknown) => {
    requireTrust();
    const n = arg as Partial<Extract<Node, { kind: 'target' }>> | undefined;
    const targets = n?.session ? [n.session] : sessions.all;
    let started = 0;
    for (const s of targets) { started += await s.buildWorktree(); }
    if (!targets.some((s) => s.worktree)) { void vscode.window.showInformationMessage('DataKit CI: the working tree does not differ from HEAD: nothing to build apart from HEAD.'); }
    return started;
  });

  reg('datakitCi.fetchResults', async () => {
    requireTrust();
    const done = (await Promise.all(sessions.all.map((s) => s.fetchResults()))).filter((r) => r !== undefined);
    if (done.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no repository here has an origin remote to fetch results from.'); return undefined; }
    const n = done.reduce((a, r) => a + r!.results, 0);
    void vscode.window.showInformationMessage(`DataKit CI: fetched ${n} result${n === 1 ? '' : 's'} from origin.`);
    return done;
  });

  reg('datakitCi.pushResults', async () => {
    requireTrust();
    const done = (await Promise.all(sessions.all.map((s) => s.pushResults()))).filter((r) => r !== undefined);
    if (done.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no repository here has an origin remote to push results to.'); return undefined; }
    const sent = done.reduce((a, r) => a + r!.sent, 0);
    void vscode.window.showInformationMessage(`DataKit CI: pushed ${sent} result${sent === 1 ? '' : 's'} to origin.`);
    return done;
  });

  reg('datakitCi.rebuildFailed', async () => {
    requireTrust();
    let n = 0;
    for (const s of sessions.all) {
      const seen = new Set<string>();
      for (const t of s.targets) {
        for (const j of t.jobs) {
          if (j.status?.result.kind === 'failure' && !seen.has(j.key.digest)) {
            seen.add(j.key.digest);
            await s.rebuild(j.key);
            n++;
          }
        }
      }
    }
    if (n === 0) { void vscode.window.showInformationMessage('DataKit CI: no failed job to rebuild.'); }
    return n;
  });

  // Build (a job never built) and Rebuild are one action: the entry is marked, then looked up.
  const buildOne = async (arg?: unknown): Promise<string | undefined> => {
    requireTrust();
    const picked = await jobArg(deps, arg, (j) => j.status?.result.kind !== 'pending');
    if (!picked) { return undefined; }
    return picked.session.rebuild(picked.job.key);
  };
  reg('datakitCi.rebuild', buildOne);
  reg('datakitCi.build', buildOne);

  reg('datakitCi.cancel', async (arg?: unknown) => {
    const picked = await jobArg(deps, arg, (j) => j.status?.result.kind === 'pending');
    if (!picked) { return false; }
    return picked.session.cancel(picked.job.key);
  });

  reg('datakitCi.showLog', async (arg?: unknown) => {
    const b = arg as Partial<BuildNode> | undefined;
    if (b?.kind === 'build' && b.session && b.item && b.job) {
      return deps.documents.open(deps.documents.uriFor(b.session.id, b.item.commit, `${b.job.key.job.name} ${b.item.commit.slice(0, 7)}`));
    }
    const picked = await jobArg(deps, arg);
    if (!picked) { return undefined; }
    const { session, job } = picked;
    const s = job.status;
    const name = `${job.key.job.name} @ ${job.key.commit.slice(0, 7)}`;
    if (s?.output.kind === 'live') {
      deps.links.noteChannel(CHANNEL_PREFIX + name, { session, commit: job.key.commit });
      return deps.channels.show(s.output.log, name, false);
    }
    if (s?.output.kind === 'saved') {
      return deps.documents.open(deps.documents.uriFor(session.id, s.output.saved.commit, name));
    }
    if (s?.result.kind === 'failure') { throw new DataKitError('NoLog', `${job.key.job.name} failed before it had a log: ${s.result.message}`); }
    throw new DataKitError('NoLog', `${job.key.job.name} has not been built for ${job.key.commit.slice(0, 7)} yet.`);
  });

  reg('datakitCi.explainKey', async (arg?: unknown) => {
    const picked = await jobArg(deps, arg);
    if (!picked) { return undefined; }
    const text = await explainKey(picked.session, picked.job);
    await deps.views.show(`Explain key of ${picked.job.key.job.name} @ ${picked.job.key.commit.slice(0, 7)}.md`, text, 'markdown');
    return text;
  });

  reg('datakitCi.restoreOutputs', async (arg?: unknown) => {
    // Restoring writes into the work tree: only in a trusted workspace.
    requireTrust();
    const picked = await jobArg(deps, arg, (j) => j.status?.output.kind === 'saved' && j.status.result.kind === 'success');
    if (!picked) { return undefined; }
    const { session, job } = picked;
    const s = job.status;
    if (s?.output.kind !== 'saved' || s.result.kind !== 'success') { throw new DataKitError('NoOutputs', `${job.key.job.name} has no saved outputs.`); }
    const target = session.dirs.topLevel;
    if (!target) { throw new DataKitError('NoWorkTree', 'A bare repository has no work tree to restore into.'); }
    const snap = session.jobs.store.snapshot(s.output.saved.commit);
    const files = (await snap.files()).filter((f) => f.path.startsWith('value/')).map((f) => ({ ...f, path: f.path.slice('value/'.length) }));
    if (files.length === 0) { throw new DataKitError('NoOutputs', `${job.key.job.name} saved no output files.`); }
    const refused = files.map((f) => [f.path, restoreProblem(f.path)]).filter(([, why]) => why);
    if (refused.length > 0) {
      throw new DataKitError('UnsafePath', `Refusing to restore the outputs of ${job.key.job.name}: ${refused.map(([p, why]) => `"${p}" (${why})`).join(', ')}.`);
    }
    const { overwritten, created } = await plannedRestore(files.map((f) => f.path), target);
    const list = (title: string, paths: string[]): string => paths.length === 0 ? ''
      : `${title} (${paths.length}):\n${paths.slice(0, 15).join('\n')}${paths.length > 15 ? `\n… and ${paths.length - 15} more` : ''}\n\n`;
    const detail = (list('Overwritten', overwritten) + list('New', created)).trim();
    // A result built on another machine (fetched from a remote) says whose it is before anything is written.
    const fetched = await session.jobs.fetchedFrom(job.key, s.output.saved.commit);
    const by = (await session.jobs.store.commitTimes(s.output.saved.commit)).builtBy;
    const from = fetched ? ` They were built by ${by ?? 'another machine'} and fetched from ${fetched}.` : '';
    const ok = await vscode.window.showWarningMessage(`Restore ${files.length} output file${files.length === 1 ? '' : 's'} of ${job.key.job.name} into ${path.basename(target)}?${from}`,
      { modal: true, detail }, 'Restore');
    if (ok !== 'Restore') { return undefined; }
    const data = await Promise.all(files.map(async (f) => ({ path: f.path, mode: f.mode, data: await snap.readFile(`value/${f.path}`) })));
    const written = await restoreOutputs(data, target);
    void vscode.window.showInformationMessage(`DataKit CI: restored ${written.length} file${written.length === 1 ? '' : 's'} of ${job.key.job.name}.`);
    return written;
  });

  reg('datakitCi.showHistoryChart', async (arg?: unknown) => {
    const picked = await jobArg(deps, arg);
    if (!picked) { return undefined; }
    return deps.charts.show(picked.session, picked.job.key.job.name);
  });

  reg('datakitCi.showMetrics', async () => {
    const text = await sessions.metrics.text();
    await deps.views.show('DataKit CI metrics.txt', text, 'plaintext');
    return text;
  });

  reg('datakitCi.createConfig', async () => {
    const root = sessions.all[0]?.dirs.topLevel ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!root) { throw new DataKitError('NoFolder', 'Open a folder first.'); }
    const uri = vscode.Uri.file(path.join(root, '.datakit-ci.json'));
    // The jobs found in the repository when there are any, else a starter to edit; `wx`: nothing already
    // there is replaced or written through (a dangling symbolic link included).
    const suggested = sessions.all.find((s) => s.dirs.topLevel === root)?.head?.suggested;
    await fs.promises.writeFile(uri.fsPath, suggested?.text ?? STARTER_CONFIG, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') { throw e; }
    });
    await vscode.window.showTextDocument(uri);
    return uri;
  });

  // Suggested jobs (no .datakit-ci.json): run on a click, saved as the file on another.
  reg('datakitCi.runSuggestedJobs', async (arg?: unknown) => {
    requireTrust();
    const n = arg as Partial<Extract<Node, { kind: 'target' }>> | undefined;
    const targets = (n?.session ? [n.session] : sessions.all).map((s) => ({ s, t: s.head })).filter((x) => x.t?.suggested);
    if (targets.length === 0) { throw new DataKitError('NothingToSuggest', 'No suggested jobs here: the repository has a .datakit-ci.json, or nothing to suggest.'); }
    let started = 0;
    for (const { s, t } of targets) {
      for (const j of t!.jobs) { if ((await s.jobs.lookup(j.key)).result.kind === 'pending') { started++; } }
    }
    return started;
  });

  reg('datakitCi.saveSuggestedJobs', async (arg?: unknown) => {
    const n = arg as Partial<Extract<Node, { kind: 'target' }>> | undefined;
    const session = n?.session ?? sessions.all.find((s) => s.head?.suggested);
    const suggested = session?.head?.suggested;
    const top = session?.dirs.topLevel;
    if (!session || !suggested || !top) { throw new DataKitError('NothingToSuggest', 'No suggested jobs here: the repository has a .datakit-ci.json, or nothing to suggest.'); }
    const uri = vscode.Uri.file(path.join(top, CONFIG_FILE));
    // `wx`: never over anything already there, a symbolic link (dangling or not) included.
    await fs.promises.writeFile(uri.fsPath, suggested.text, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? new DataKitError('ConfigExists', `${CONFIG_FILE} already exists: it was not overwritten.`) : e;
    });
    await vscode.window.showTextDocument(uri);
    await session.refresh();
    return uri;
  });

  reg('datakitCi.openConfigError', async (arg?: unknown) => {
    const n = arg as Partial<Extract<Node, { kind: 'configError' }>> | undefined;
    const found = n?.session && n.target && n.error ? { session: n.session, target: n.target, error: n.error } : firstConfigError(sessions.all);
    if (!found) { void vscode.window.showInformationMessage('DataKit CI: .datakit-ci.json has no error.'); return undefined; }
    return openConfigAt(deps, found.session, found.target, found.error);
  });

  // From a link in a log or a problem: a file of the commit a build ran for, at a line and column.
  // Its arguments come from a command: URI, checked as any input: a full commit id, a repository path, positions.
  reg('datakitCi.openSource', async (sessionId: unknown, commit: unknown, file: unknown, line: unknown, column?: unknown, worktree?: unknown) => {
    requireTrust(); // finding the right version of the file runs git
    const session = sessions.all.find((x) => x.id === sessionId);
    if (!session) { throw new DataKitError('NotFound', 'That repository is no longer open.'); }
    const position = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1;
    if (typeof commit !== 'string' || !FULL_COMMIT.test(commit) || typeof file !== 'string' || repositoryPath(file, '', []) !== file || !position(line) || (column !== undefined && !position(column))) {
      throw new DataKitError('InvalidArgument', 'Not a place in a file of a commit.');
    }
    return deps.sources.open(session, commit, file, line, column, worktree === true);
  });

  reg('datakitCi.manageTrust', () => vscode.commands.executeCommand('workbench.trust.manage'));
}

/**
 * Opens .datakit-ci.json at an error: the working copy's file when it is the one that was read (the working
 * tree's, or a commit's that the working copy still has as is), else a read-only view of the commit's file.
 */
async function openConfigAt(deps: CommandDeps, session: Session, target: TargetView, error: ConfigError): Promise<vscode.TextEditor> {
  const top = session.dirs.topLevel;
  const file = top ? vscode.Uri.file(path.join(top, CONFIG_FILE)) : undefined;
  const at = new vscode.Position(error.line - 1, error.column - 1);
  const selection = new vscode.Range(at, at);
  let same: boolean = target.target.worktree === true;
  if (!same && top) {
    // As git sees them (line endings converted as the repository says): the working copy's blob and the commit's.
    const [mine, committed] = await Promise.all([blobIds(top, [CONFIG_FILE]), session.jobs.repo().then((r) => r.objectIds(target.target.commit, [CONFIG_FILE]))]);
    same = 'ids' in mine && mine.ids[0] !== undefined && mine.ids[0] === committed.get(CONFIG_FILE);
  }
  if (same && file) { return vscode.window.showTextDocument(file, { selection, preview: false }); }
  const text = await session.jobs.configText(target.target.commit) ?? '';
  const editor = await deps.views.show(`${CONFIG_FILE} @ ${target.target.commit.slice(0, 7)}`, text, 'jsonc');
  editor.selection = new vscode.Selection(at, at);
  editor.revealRange(selection, vscode.TextEditorRevealType.InCenter);
  void vscode.window.showInformationMessage(`DataKit CI: this is .datakit-ci.json as committed at ${target.target.commit.slice(0, 7)}; your working copy differs from it.`);
  return editor;
}

/** How many changed files Explain Key lists for one input. */
const LISTED_FILES = 50;

/**
 * How an input's record changed, as files: a pattern's files added, removed and changed; a plain path's two
 * object ids compared by git (a folder's files that differ, a file changed), ids only when git cannot.
 */
async function describeInputChange(repo: SourceRepo, input: string, before: unknown, after: unknown): Promise<string> {
  const list = (files: string[]): string => files.slice(0, LISTED_FILES).join(', ') + (files.length > LISTED_FILES ? `, … and ${files.length - LISTED_FILES} more` : '');
  if (!Array.isArray(before) && !Array.isArray(after)) {
    const [b, a] = [before as string | null | undefined, after as string | null | undefined];
    if (!b || !a) { return `\`${b ?? 'absent'}\` → \`${a ?? 'absent'}\`${!b ? ' (added)' : ' (removed)'}`; }
    const files = await repo.changedFiles(b, a);
    if (files === undefined) { return `\`${b}\` → \`${a}\` (one is a tree of the working tree, which git does not store: ids only)`; }
    return list(files.map((f) => `\`${f.path ? `${input}/${f.path}` : input}\` ${f.change}`));
  }
  const asList = (r: unknown): Map<string, string> => new Map(Array.isArray(r) ? (r as [string, string][]) : []);
  const [b, a] = [asList(before), asList(after)];
  const files = [...new Set([...b.keys(), ...a.keys()])].sort().filter((f) => b.get(f) !== a.get(f));
  return list(files.map((f) => `\`${f}\` ${!b.has(f) ? 'added' : !a.has(f) ? 'removed' : 'changed'}`));
}

/** key.json of a job's saved result and, against the previous build of the same job, what changed. */
export async function explainKey(session: Session, job: JobView): Promise<string> {
  const key = job.key;
  const lines = [`# Why \`${key.job.name}\` has key \`${key.digest.slice(0, 16)}\``, '',
    `The key is a digest of the tool version, the job's definition and the object id of each input in commit \`${key.commit.slice(0, 12)}\`.`, '',
    '```json', JSON.stringify({ digest: key.digest, job: key.job, inputs: key.inputs, commit: key.commit }, null, 2), '```', ''];
  const saved = job.status?.output.kind === 'saved' ? job.status.output.saved : undefined;
  if (saved) {
    const by = (await session.jobs.store.commitTimes(saved.commit)).builtBy;
    const fetched = await session.jobs.fetchedFrom(key, saved.commit);
    lines.push(`Its result (\`${saved.commit.slice(0, 12)}\`) was built by ${by ?? 'an unrecorded machine'}${fetched ? `, fetched from ${fetched}` : ''}.`, '');
  }
  const previous = await session.jobs.previousKeyOf(key);
  if (!previous) {
    lines.push('No other build of this job is saved, so there is nothing to compare with.');
  } else {
    lines.push(`## Against the previous build of \`${key.job.name}\` (key \`${String(previous.digest).slice(0, 16)}\`, commit \`${String(previous.commit).slice(0, 12)}\`)`, '');
    const changed = changedInputs(previous.inputs ?? {}, key.inputs);
    const defChanged = JSON.stringify(previous.job) !== JSON.stringify(JSON.parse(session.jobs.normalizedJob(key)));
    if (defChanged) { lines.push('- the job definition changed'); }
    if (previous.tool !== session.jobs.tool) { lines.push(`- the tool changed (${previous.tool} → ${session.jobs.tool})`); }
    const repo = await session.jobs.repo();
    for (const p of changed) { lines.push(`- input \`${p}\` changed: ${await describeInputChange(repo, p, previous.inputs?.[p], key.inputs[p])}`); }
    if (!defChanged && changed.length === 0 && previous.tool === session.jobs.tool) { lines.push('- nothing: the same key (a rebuild was asked for)'); }
  }
  return lines.join('\n') + '\n';
}
