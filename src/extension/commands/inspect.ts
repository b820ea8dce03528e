// The commands that look at results: Show Log, Explain Key, Show History Chart, Show Metrics, Restore Outputs,
// and the links of logs and problems to the files a build named (openSource).
import * as path from 'path';
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { plain } from '../../shared/format';
import { repositoryPath } from '../../jobs/problems/matchLog';
import { applyRestore, planRestore } from '../../jobs/restore';
import { CHANNEL_PREFIX, logTitle } from '../logs';
import { isObjectId } from '../../shared/objectId';
import type { Session } from '../session/session';
import { hasLogToShow, type JobView } from '../session/model';
import { jobArg, type BuildNode, type CommandDeps, type CommandSpec } from './pick';

export function inspectCommands(deps: CommandDeps): CommandSpec[] {
  return [
    { id: 'datakitCi.showLog', name: 'Show Log', runs: false, run: (arg?: unknown) => showLog(deps, arg) },
    { id: 'datakitCi.explainKey', name: 'Explain Key', runs: false, run: async (arg?: unknown) => {
      const picked = await jobArg(deps, arg);
      if (!picked) { return undefined; }
      const { session, job } = picked;
      const explanation = await session.jobs.explain(job.key);
      // One page per job of a target: the working tree's replaces itself as its key moves with each edit.
      const of = job.key.worktree ? 'working tree' : job.key.commit.slice(0, 7);
      const panel = deps.explains.show(`${session.id}:${job.key.job.name}@${job.key.worktree ? 'worktree' : job.key.commit}`, `Explain ${job.key.job.name} @ ${of}`, explanation);
      return { explanation, html: panel.webview.html };
    } },
    // Restoring writes into the work tree.
    { id: 'datakitCi.restoreOutputs', name: 'Restore Outputs', runs: true, run: async (arg?: unknown) => {
      const picked = await jobArg(deps, arg, (j) => j.status?.output.kind === 'saved' && j.status.result.kind === 'success' && j.status.result.value.outputs.length > 0);
      return picked ? restore(picked.session, picked.job) : undefined;
    } },
    { id: 'datakitCi.showHistoryChart', name: 'Show History Chart', runs: false, run: async (arg?: unknown) => {
      const picked = await jobArg(deps, arg);
      return picked ? deps.charts.show(picked.session, picked.job.key.job.name) : undefined;
    } },
    { id: 'datakitCi.showMetrics', name: 'Show Metrics', runs: false, run: async () => {
      const text = await deps.sessions.metrics.text();
      await deps.views.show('DataKit CI metrics.txt', text, 'plaintext');
      return text;
    } },
    // From a link in a log or a problem: a file of the commit a build ran for, at a line and column. Its
    // arguments come from a command: URI, checked as any input: a full commit id, a repository path, positions.
    // Finding the right version of the file runs git.
    { id: 'datakitCi.openSource', name: 'Open Source', runs: true, run: async (sessionId: unknown, commit: unknown, file: unknown, line: unknown, column?: unknown, worktree?: unknown) => {
      const session = deps.sessions.all.find((x) => x.id === sessionId);
      if (!session) { throw new DataKitError('NotFound', 'That repository is no longer open.'); }
      const position = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1;
      if (typeof commit !== 'string' || !isObjectId(commit) || typeof file !== 'string' || repositoryPath(file, '', []) !== file || !position(line) || (column !== undefined && !position(column))) {
        throw new DataKitError('InvalidArgument', 'Not a place in a file of a commit.');
      }
      return deps.sources.open(session, commit, file, line, column, worktree === true);
    } },
  ];
}

/** The saved log of a job or of an earlier build, or a running job's live channel. */
async function showLog(deps: CommandDeps, arg: unknown): Promise<unknown> {
  const b = arg as Partial<BuildNode> | undefined;
  if (b?.kind === 'build' && b.session && b.item && b.job) {
    return deps.documents.open(deps.documents.uriFor(b.session.id, b.item.commit, logTitle(b.job.key.job.name, { commit: b.item.source, worktree: b.item.worktree })));
  }
  // From the palette, only jobs with a log to show are offered.
  const picked = await jobArg(deps, arg, hasLogToShow);
  if (!picked) { return undefined; }
  const { session, job } = picked;
  const s = job.status;
  const here = { commit: job.key.commit, worktree: job.key.worktree !== undefined };
  if (s?.output.kind === 'live') {
    const name = logTitle(job.key.job.name, here);
    deps.links.noteChannel(CHANNEL_PREFIX + name, { session, commit: job.key.commit });
    return deps.channels.show(s.output.log, name, false);
  }
  if (s?.output.kind === 'saved') {
    const built = await session.jobs.resultOrigin(s.output.saved.commit);
    return deps.documents.open(deps.documents.uriFor(session.id, s.output.saved.commit, logTitle(job.key.job.name, built, here)));
  }
  if (s?.result.kind === 'failure') { throw new DataKitError('NoLog', `${job.key.job.name} failed before it had a log: ${plain(s.result.message)}`); }
  throw new DataKitError('NoLog', `${job.key.job.name} has not been built for ${job.key.commit.slice(0, 7)} yet.`);
}

/** Restores a successful job's outputs into the work tree, after a dialog that lists what is overwritten. */
async function restore(session: Session, job: JobView): Promise<string[] | undefined> {
  const plan = await planRestore(session.jobs, job.key, job.status, session.dirs.topLevel);
  const list = (title: string, paths: readonly string[]): string => paths.length === 0 ? ''
    : `${title} (${paths.length}):\n${paths.slice(0, 15).join('\n')}${paths.length > 15 ? `\n… and ${paths.length - 15} more` : ''}\n\n`;
  const detail = (list('Overwritten', plan.overwritten) + list('New', plan.created)).trim();
  // A result built on another machine (fetched from a remote) says whose it is before anything is written.
  // Who vouched for it too: an unverified result is said to be one (no trusted builder signed it).
  const f = plan.fetched;
  const vouched = f?.verifiedBy !== undefined ? `, signed by ${plain(f.verifiedBy)} (verified)` : ' (unverified: no trusted builder signed them)';
  const from = f ? ` They were built by ${plain(f.builtBy ?? 'another machine')} and fetched from ${plain(f.remote)}${vouched}.` : '';
  const n = plan.files.length;
  const ok = await vscode.window.showWarningMessage(`Restore ${n} output file${n === 1 ? '' : 's'} of ${plan.job} into ${path.basename(plan.target)}?${from}`,
    { modal: true, detail }, 'Restore');
  if (ok !== 'Restore') { return undefined; }
  const written = await applyRestore(session.jobs, plan);
  void vscode.window.showInformationMessage(`DataKit CI: restored ${written.length} file${written.length === 1 ? '' : 's'} of ${plan.job}.`);
  return written;
}
