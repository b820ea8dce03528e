// The commands that build, cancel and share: Build Now, Build the Working Tree, Rebuild Failed, Build and
// Rebuild of a job, Cancel, Run Suggested Jobs, Fetch and Push Results, Refresh.
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { jobArg, nothingToBuild, sessionsOf, targetArg, type CommandDeps, type CommandSpec } from './pick';

export function buildCommands(deps: CommandDeps): CommandSpec[] {
  const { sessions } = deps;
  // Build (a job never built) and Rebuild are one action: the entry is marked, then looked up.
  const buildOne = async (arg?: unknown): Promise<string | undefined> => {
    const picked = await jobArg(deps, arg, (j) => j.status?.result.kind !== 'pending');
    return picked ? picked.session.rebuild(picked.job.key) : undefined;
  };
  return [
    { id: 'datakitCi.refresh', name: 'Refresh', runs: false, run: async () => {
      await Promise.all(sessions.all.map((s) => s.refresh()));
      deps.refreshTree();
    } },
    { id: 'datakitCi.buildNow', name: 'Build Now', runs: true, run: async () => {
      if (sessions.all.length === 0) {
        // Why there is nothing to build, as the welcome view says it: no folder, or no git repository.
        const said = `DataKit CI: ${sessions.state === 'noFolder' ? 'no folder is open: open a git repository to build its jobs.' : 'the open folder is not in a git repository: nothing to build.'}`;
        void vscode.window.showInformationMessage(said);
        return { started: 0, said };
      }
      let started = 0;
      for (const s of sessions.all) { await s.refresh(); started += await s.build('all'); }
      const said = started === 0 ? `DataKit CI: ${nothingToBuild(sessions.all)}` : undefined;
      if (said) { void vscode.window.showInformationMessage(said); }
      return { started, said };
    } },
    { id: 'datakitCi.buildWorkingTree', name: 'Build the Working Tree', runs: true, run: async (arg?: unknown) => {
      const targets = sessionsOf(deps, arg);
      let started = 0;
      for (const s of targets) { started += await s.buildWorktree(); }
      if (!targets.some((s) => s.worktree)) { void vscode.window.showInformationMessage('DataKit CI: the working tree does not differ from HEAD: nothing to build apart from HEAD.'); }
      return started;
    } },
    { id: 'datakitCi.rebuildFailed', name: 'Rebuild Failed', runs: true, run: async () => {
      let n = 0;
      for (const s of sessions.all) {
        const seen = new Set<string>();
        for (const j of s.targets.flatMap((t) => t.jobs)) {
          if (j.status?.result.kind !== 'failure' || seen.has(j.key.digest)) { continue; }
          seen.add(j.key.digest);
          await s.rebuild(j.key);
          n++;
        }
      }
      if (n === 0) { void vscode.window.showInformationMessage('DataKit CI: no failed job to rebuild.'); }
      return n;
    } },
    { id: 'datakitCi.rebuild', name: 'Rebuild', runs: true, run: buildOne },
    { id: 'datakitCi.build', name: 'Build', runs: true, run: buildOne },
    { id: 'datakitCi.cancel', name: 'Cancel', runs: false, run: async (arg?: unknown) => {
      const picked = await jobArg(deps, arg, (j) => j.status?.result.kind === 'pending');
      return picked ? picked.session.cancel(picked.job.key) : false;
    } },
    // Every build of a commit (its row's ⏹), or of every target shown (the view's title).
    { id: 'datakitCi.cancelTarget', name: 'Cancel the Builds of This Commit', runs: false, run: async (arg?: unknown) => {
      const picked = await targetArg(deps, arg, (j) => j.status?.result.kind === 'pending');
      if (!picked) { return 0; }
      const n = picked.session.cancelTarget(picked.target);
      if (n === 0) { void vscode.window.showInformationMessage(`DataKit CI: nothing of ${picked.target.target.label} is building.`); }
      return n;
    } },
    { id: 'datakitCi.cancelAll', name: 'Cancel All', runs: false, run: async () => {
      let n = 0;
      for (const s of sessions.all) { for (const t of s.targets) { n += s.cancelTarget(t); } }
      void vscode.window.showInformationMessage(n === 0 ? 'DataKit CI: nothing is building.' : `DataKit CI: cancelled ${n} build${n === 1 ? '' : 's'}.`);
      return n;
    } },
    // Suggested jobs (no .datakit-ci.json): run on a click.
    { id: 'datakitCi.runSuggestedJobs', name: 'Run Suggested Jobs', runs: true, run: async (arg?: unknown) => {
      const targets = sessionsOf(deps, arg).filter((s) => s.head?.suggested);
      if (targets.length === 0) { throw new DataKitError('NothingToSuggest', 'No suggested jobs here: the repository has a .datakit-ci.json, or nothing to suggest.'); }
      let started = 0;
      for (const s of targets) { started += await s.lookupAll(s.head!.jobs); }
      return started;
    } },
  ];
}

/** Fetch and Push Results: the results of every repository shown, from and to its origin. */
export function sharingCommands(deps: CommandDeps): CommandSpec[] {
  const { sessions } = deps;
  return [
    { id: 'datakitCi.fetchResults', name: 'Fetch Results', runs: true, progress: true, run: async () => {
      const done = (await Promise.all(sessions.all.map((s) => s.sharing.fetchResults()))).filter((r) => r !== undefined);
      if (done.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no repository here has an origin remote to fetch results from.'); return undefined; }
      const n = done.reduce((a, r) => a + r.results, 0);
      void vscode.window.showInformationMessage(`DataKit CI: fetched ${n} result${n === 1 ? '' : 's'} from origin.`);
      return done;
    } },
    { id: 'datakitCi.pushResults', name: 'Push Results', runs: true, progress: true, run: async () => {
      const done = (await Promise.all(sessions.all.map((s) => s.sharing.pushResults()))).filter((r) => r !== undefined);
      if (done.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no repository here has an origin remote to push results to.'); return undefined; }
      const sent = done.reduce((a, r) => a + r.sent, 0);
      void vscode.window.showInformationMessage(`DataKit CI: pushed ${sent} result${sent === 1 ? '' : 's'} to origin.`);
      return done;
    } },
  ];
}
