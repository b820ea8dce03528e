// "Show History Chart": a job's last builds across commits as bars (height: run time, colour: result) in a
// webview with a strict Content-Security-Policy: no remote content, only this page's own style and script.
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import type { JobBuild } from '../../jobs/repoJobs';
import type { Session } from '../session/session';
import { duration, HISTORY_LENGTH } from '../tree/treeModel';

/** A run time to a tenth of a second under a minute (the tree rounds; a chart compares). */
function precise(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms);
}

/** What a bar says when hovered or focused. */
function describe(b: JobBuild): string {
  const outcome = b.result === 'success' ? 'passed' : b.result === 'cancelled' ? 'cancelled' : `failed: ${b.failure ?? ''}`;
  const source = b.source ? `${b.worktree ? 'working tree on ' : ''}${b.source.slice(0, 7)}${b.sourceSubject ? ` ${b.sourceSubject}` : ''}` : 'an unknown commit';
  return `${source} · ${outcome} · ran ${precise(b.runMs ?? b.finished - b.started)} · ${new Date(b.finished).toLocaleString()}${b.builtBy ? ` · ${b.builtBy}` : ''}`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page: bars oldest to newest, left to right, each a button that opens its log. */
export function chartHtml(job: string, builds: readonly JobBuild[], nonce: string): string {
  const ordered = [...builds].reverse();
  const max = Math.max(1, ...ordered.map((b) => b.runMs ?? b.finished - b.started));
  const W = 16;
  const GAP = 4;
  const H = 160;
  const bars = ordered.map((b, i) => {
    const ms = b.runMs ?? b.finished - b.started;
    const h = Math.max(2, Math.round((ms / max) * H));
    const label = describe(b);
    return `<rect class="bar ${b.result}" x="${i * (W + GAP)}" y="${H - h}" width="${W}" height="${h}" tabindex="0" role="button" data-index="${builds.length - 1 - i}" aria-label="${escape(label)}"><title>${escape(label)}</title></rect>`;
  }).join('\n');
  const width = Math.max(ordered.length * (W + GAP), 200);
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style nonce="${nonce}">
  body { color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 12px 16px; }
  h1 { font-size: 1.2em; font-weight: 600; margin: 0 0 4px; }
  #info { min-height: 1.5em; color: var(--vscode-descriptionForeground); margin: 4px 0 12px; }
  .axis { color: var(--vscode-descriptionForeground); font-size: 0.9em; }
  .bar { cursor: pointer; }
  .bar.success { fill: var(--vscode-testing-iconPassed); }
  .bar.failure { fill: var(--vscode-testing-iconFailed); }
  .bar.cancelled { fill: var(--vscode-testing-iconSkipped); }
  .bar:hover, .bar:focus { outline: none; stroke: var(--vscode-focusBorder); stroke-width: 2px; }
  .legend span { margin-right: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
  .legend .success { background: var(--vscode-testing-iconPassed); }
  .legend .failure { background: var(--vscode-testing-iconFailed); }
  .legend .cancelled { background: var(--vscode-testing-iconSkipped); }
</style>
</head>
<body>
<h1>${escape(job)}: ${builds.length === 0 ? 'no build saved yet' : `the last ${builds.length} build${builds.length === 1 ? '' : 's'}, oldest first`}</h1>
<p class="legend"><span><i class="success"></i>passed</span><span><i class="failure"></i>failed</span><span><i class="cancelled"></i>cancelled</span><span class="axis">height: run time, up to ${escape(precise(max))}</span></p>
<p id="info" aria-live="polite">Point at a bar for its commit and time; click it (or press Enter) for its log.</p>
<svg id="chart" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" role="group" aria-label="${escape(`${job}: builds by run time`)}">
${bars}
</svg>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const info = document.getElementById('info');
  for (const bar of document.querySelectorAll('.bar')) {
    const show = () => { info.textContent = bar.getAttribute('aria-label'); };
    const open = () => vscode.postMessage({ type: 'openLog', index: Number(bar.dataset.index) });
    bar.addEventListener('mouseenter', show);
    bar.addEventListener('focus', show);
    bar.addEventListener('click', open);
    bar.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
  }
</script>
</body>
</html>
`;
}

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
