// Activation: sessions per repository, the Builds tree, logs, commands, status bar, diagnostics, metrics.
import * as vscode from 'vscode';
import { DataKitError } from '../shared/errors';
import type { Builder } from '../engine/builder';
import type { BuildCache } from '../jobs/repoJobs';
import * as path from 'path';
import { VERSION } from '../engine/version';
import { CONFIG_FILE } from '../jobs/config/config';
import { killAllNow } from '../jobs/run/process';
import { ConfigDiagnostics } from './problems/diagnostics';
import { registerCommands } from './commands/commands';
import { LOG_LANGUAGE, LOG_SCHEME, LogLinks, logTitle, registerLogViews, type LogDecorator } from './logs';
import { SOURCE_SCHEME, SourceFiles } from './problems/sourceFiles';
import { JobTasks, TASK_TYPE } from './tasks';
import { JobProblems } from './problems/problems';
import { ContextKeys } from './contextKeys';
import { MetricsServer } from './metricsServer';
import { Sessions } from './session/sessions';
import { Operations } from './operations';
import { readSettings } from './settings';
import { StatusBar } from './tree/statusBar';
import { TreeModel } from './tree/treeModel';
import { BuildTreeProvider } from './tree/treeProvider';
import { ExplainViews } from './views/explainView';
import { HistoryCharts } from './views/historyChart';
import { ReadOnlyViews, VIEW_SCHEME } from './views/readOnlyViews';

/** The window's sessions, for `deactivate`. */
let current: Sessions | undefined;

/** What `activate` returns to other extensions (see docs/api.md). */
export interface DataKitCiApi {
  readonly version: string;
  /**
   * Runs another extension's builder on the same engine and results repository: its results live on
   * `refs/heads/<builder.name>/<entry>` of the repository that holds `options.folder` (default: the first).
   */
  registerBuilder<K, V, C>(builder: Builder<K, V, C>, options?: { folder?: vscode.Uri }): Promise<BuildCache<K, V, C>>;
  /** For tests and tools: the sessions, tree model and status bar of this window. */
  readonly internals: { sessions: Sessions; ops: Operations; tree: BuildTreeProvider; statusBar: StatusBar; diagnostics: ConfigDiagnostics; metrics: MetricsServer; channels: unknown; charts: HistoryCharts; links: LogLinks; decorator: LogDecorator; problems: JobProblems; keys: ContextKeys };
}

export async function activate(context: vscode.ExtensionContext): Promise<DataKitCiApi> {
  const output = vscode.window.createOutputChannel('DataKit CI', { log: true });
  context.subscriptions.push(output);
  const ops = new Operations(output);
  context.subscriptions.push(ops);
  const sessions = new Sessions(output, ops, context.globalState);
  context.subscriptions.push(sessions);
  current = sessions;

  const sources = new SourceFiles(sessions);
  const problems = new JobProblems(sessions, sources, (m) => output.warn(m));
  context.subscriptions.push(problems);
  sessions.firstProblem = (session, job) => problems.firstProblem(session, job);
  const keys = new ContextKeys(sessions);
  const model = new TreeModel(() => sessions.all);
  const tree = new BuildTreeProvider(model, sessions, problems);
  const view = vscode.window.createTreeView('datakitCi.builds', { treeDataProvider: tree, showCollapseAll: true });
  context.subscriptions.push(keys, tree, view);
  const updateMessage = (): void => {
    // Our own key: the workbench's isWorkspaceTrusted is not set everywhere (e.g. when trust is disabled).
    void vscode.commands.executeCommand('setContext', 'datakitCi.untrusted', !vscode.workspace.isTrusted);
    view.message = !vscode.workspace.isTrusted && sessions.all.length > 0
      ? 'Workspace not trusted: saved results only; no job runs.'
      : undefined;
  };
  updateMessage();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(updateMessage));

  const settings = readSettings();
  const { channels, documents, decorator } = registerLogViews(context, (id) => sessions.all.find((s) => s.id === id)?.jobs, { maxChannels: settings.maxOutputChannels });
  const statusBar = new StatusBar(sessions);
  const diagnostics = new ConfigDiagnostics();
  context.subscriptions.push(statusBar, diagnostics);
  void diagnostics.checkWorkspace();
  // An input of HEAD's jobs that matches nothing is a warning where it is written.
  const warnings = sessions.onDidChange(() => {
    for (const s of sessions.all) {
      if (s.dirs.topLevel) { diagnostics.setInputWarnings(vscode.Uri.file(path.join(s.dirs.topLevel, CONFIG_FILE)), s.inputWarnings); }
    }
  });
  context.subscriptions.push({ dispose: () => warnings.dispose() });

  const metrics = new MetricsServer(sessions.metrics, output);
  context.subscriptions.push(metrics);
  void metrics.listen(settings.metricsPort);
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('datakitCi.metricsPort')) { void metrics.listen(readSettings().metricsPort); }
  }));

  const charts = new HistoryCharts((session, job, b) => documents.open(documents.uriFor(session.id, b.commit, logTitle(job, { commit: b.source, worktree: b.worktree }))));
  context.subscriptions.push(charts);
  const explains = new ExplainViews();
  context.subscriptions.push(explains);
  const views = new ReadOnlyViews();
  context.subscriptions.push(views, vscode.workspace.registerTextDocumentContentProvider(VIEW_SCHEME, views));
  const links = new LogLinks(sessions, sources, (m) => output.warn(m));
  const logSelector = [{ language: LOG_LANGUAGE }, { scheme: LOG_SCHEME }];
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(SOURCE_SCHEME, sources),
    vscode.languages.registerDocumentLinkProvider(logSelector, links),
    vscode.languages.registerDocumentSymbolProvider(logSelector, links, { label: 'Log sections' }),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new JobTasks(sessions, ops)),
  );
  registerCommands(context, { sessions, ops, channels, documents, output, charts, explains, views, links, sources, refreshTree: () => tree.scheduleRefresh() });
  await sessions.sync();

  return {
    version: VERSION,
    async registerBuilder(builder, options) {
      await sessions.sync();
      const folder = options?.folder;
      const session = (folder && sessions.all.find((s) => s.folder.toString() === folder.toString())) ?? sessions.all[0];
      if (!session) { throw new DataKitError('NotARepository', 'DataKit CI: no git repository is open'); }
      const cache = session.jobs.registerBuilder(builder);
      context.subscriptions.push({ dispose: () => cache.dispose() });
      return cache;
    },
    internals: { sessions, ops, tree, statusBar, diagnostics, metrics, channels, charts, links, decorator, problems, keys },
  };
}

/** How long deactivation waits for cancelled builds to stop and save before killing what is left. */
const DEACTIVATE_WAIT_MS = 4000;

/**
 * Cancels every running build and waits (bounded) for each to save its `Cancelled` failure: no job outlives
 * the window. Everything else is disposed through context.subscriptions.
 */
export async function deactivate(): Promise<void> {
  const sessions = current;
  current = undefined;
  if (!sessions) { return; }
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    sessions.cancelAll().then(() => true),
    new Promise<false>((r) => { timer = setTimeout(() => r(false), DEACTIVATE_WAIT_MS); }),
  ]);
  clearTimeout(timer);
  if (!waited) { killAllNow(); }
}
