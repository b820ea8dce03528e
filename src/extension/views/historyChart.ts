// "Show History Chart": a job's last builds across commits as a chart (historyChartPage.ts) in a webview with a
// strict Content-Security-Policy: no remote content, only the page's own style and script.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import type { JobBuild } from '../../jobs/repoJobs';
import type { Session } from '../session/session';
import { HISTORY_LENGTH } from '../tree/treeModel';
import { chartHtml } from './historyChartPage';

/** Opens (or reveals) the chart of one job of a session, kept current as builds finish. */
export class HistoryCharts implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(private readonly openLog: (session: Session, job: string, build: JobBuild) => Thenable<unknown>) {}

  async show(session: Session, job: string): Promise<vscode.WebviewPanel> {
    const id = `${session.id}:${job}`;
    let panel = this.panels.get(id);
    if (panel) {
      panel.reveal();
    } else {
      panel = vscode.window.createWebviewPanel('datakitCi.historyChart', `History: ${job}`, vscode.ViewColumn.Active, {
        enableScripts: true, localResourceRoots: [], retainContextWhenHidden: false,
      });
      this.panels.set(id, panel);
      const p = panel;
      let builds: JobBuild[] = [];
      let shown: string | undefined;
      const render = async (): Promise<void> => {
        const latest = await session.jobs.jobHistory(job, HISTORY_LENGTH);
        const signature = latest.map((b) => b.commit).join(' ');
        if (signature === shown) { return; } // no new build: the page (and what is hovered) stays
        builds = latest;
        shown = signature;
        p.webview.html = chartHtml(job, builds, randomBytes(16).toString('base64'));
      };
      const sub = session.onDidChange(() => {
        clearTimeout(timer);
        timer = setTimeout(() => { void render(); }, 1000);
      });
      let timer: NodeJS.Timeout | undefined;
      p.webview.onDidReceiveMessage((m: { type?: string; index?: number }) => {
        const b = m.type === 'openLog' && typeof m.index === 'number' ? builds[m.index] : undefined;
        if (b) { void this.openLog(session, job, b); }
      });
      p.onDidDispose(() => { sub.dispose(); clearTimeout(timer); this.panels.delete(id); });
      await render();
    }
    return panel;
  }

  dispose(): void {
    for (const p of this.panels.values()) { p.dispose(); }
  }
}
