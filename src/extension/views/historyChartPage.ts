// The history chart's page, as text: a job's builds as bars in the order they finished, the height of each
// its run time against a y axis, its result told by shape as well as colour (passed: solid; failed: hatched,
// with an ✕ above; cancelled: outlined) and a build of the working tree by a dashed outline; below each bar its
// commit, and the dates along the x axis. Each bar is a button with a label in words for screen readers. The
// page fits the bars to the editor's size itself (historyChartScript.ts); historyChart.ts shows it in a
// webview whose Content-Security-Policy lets in only this page's own style and script.
import type { JobBuild } from '../../jobs/repoJobs';
import { plain, runDuration } from '../../shared/format';
import { CHART_SCRIPT } from './historyChartScript';
import { webviewPage } from './page';

/** A build's run time: what its result recorded, else from its times. */
export function runMs(b: JobBuild): number {
  return b.runMs ?? Math.max(0, b.finished - b.started);
}

/** A run time to a tenth of a second under a minute (the tree rounds; a chart compares). */
function precise(ms: number): string {
  return ms < 59_950 ? `${(ms / 1000).toFixed(1)} s` : runDuration(ms);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The local day of a time, `2026-12-07`. */
export function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The local time of day, `03:27`, or `03:27:36` with seconds. */
export function timeOf(ms: number, seconds = false): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
}

/** A short commit id (or `unknown`) and, for a build of the working tree, what it was over. */
export function commitLabel(b: JobBuild): string {
  return b.source ? b.source.slice(0, 7) : 'unknown';
}

/** What a bar says to a screen reader, and when it is hovered or focused. */
export function describe(b: JobBuild): string {
  const outcome = b.result === 'success' ? 'passed' : b.result === 'cancelled' ? 'cancelled' : `failed: ${plain(b.failure ?? '')}`;
  const subject = b.sourceSubject ? ` ${plain(b.sourceSubject)}` : '';
  const source = b.source ? `${b.worktree ? 'working tree on ' : ''}${b.source.slice(0, 7)}${subject}` : `${b.worktree ? 'working tree on ' : ''}an unknown commit`;
  return `${source} · ${outcome} · ran ${precise(runMs(b))} · ${dayOf(b.finished)} ${timeOf(b.finished, true)}${b.builtBy ? ` · ${plain(b.builtBy)}` : ''}`;
}

/** Steps of the run-time axis, in ms: round numbers of seconds, minutes and hours. */
const STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000];

/** The ticks of the run-time axis, from 0 to the first round value at or over the longest run (at most 6). */
export function runTimeTicks(maxMs: number): number[] {
  const max = Math.max(1, maxMs);
  const step = STEPS.find((s) => max / s <= 5) ?? Math.ceil(max / 5 / 86_400_000) * 86_400_000;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

/** A tick's label: `0 s`, `0.2 s`, `15 s`, `1 min 30 s`, `2 h`. */
export function tickLabel(ms: number, step: number): string {
  if (ms < 60_000) { return `${(ms / 1000).toFixed(step >= 1000 || ms === 0 ? 0 : step >= 100 ? 1 : 2)} s`; }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return [h && `${h} h`, m && `${m} min`, s && `${s} s`].filter(Boolean).join(' ');
}

/** The builds in the order they finished, each with its index in `builds` (what the page sends back). */
function inTimeOrder(builds: readonly JobBuild[]): { b: JobBuild; index: number }[] {
  return builds.map((b, index) => ({ b, index })).sort((x, y) => x.b.finished - y.b.finished || y.index - x.index);
}

function barSvg({ b, index }: { b: JobBuild; index: number }): string {
  const label = escapeHtml(describe(b));
  const classes = ['build', b.result, ...(b.worktree ? ['worktree'] : [])].join(' ');
  return `<g class="${classes}" role="button" tabindex="-1" data-index="${index}" data-ms="${runMs(b)}" aria-label="${label}"><title>${label}</title>`
    + '<rect class="hit"></rect><rect class="shape"></rect>'
    + (b.result === 'failure' ? '<text class="mark" aria-hidden="true">✕</text>' : '')
    + `<text class="commit" aria-hidden="true">${escapeHtml(commitLabel(b))}</text></g>`;
}

function axesSvg(ordered: readonly { b: JobBuild }[], ticks: readonly number[]): string {
  const step = ticks[1] ?? 1;
  const y = ticks.map((ms) => `<g class="tick" data-ms="${ms}"><line class="grid"></line><text class="tick-label">${tickLabel(ms, step)}</text></g>`).join('');
  const x = ordered.map(({ b }) => `<g class="date" data-day="${dayOf(b.finished)}" data-time="${timeOf(b.finished)}"><text class="date-label"></text></g>`).join('');
  return `<g class="y-axis" aria-hidden="true"><text class="axis-title y-title">run time</text>${y}</g>`
    + `<g class="x-axis" aria-hidden="true"><line class="baseline"></line>${x}<text class="axis-title x-title">finished, oldest → newest</text></g>`;
}

/** The legend: each shape as the bars draw it, and what it means. */
function legendHtml(): string {
  const item = (cls: string, words: string): string =>
    `<li class="key-${cls}"><svg class="swatch" width="16" height="16" aria-hidden="true"><g class="${cls}"><rect class="shape" x="2" y="2" width="12" height="12"></rect></g></svg>${words}</li>`;
  return `<ul class="legend" aria-label="Legend">${item('success', 'passed (solid)')}${item('failure', 'failed (hatched, ✕)')}${item('cancelled', 'cancelled (outlined)')}${item('worktree', 'working tree (dashed outline)')}</ul>`;
}

const STYLE = `
  html, body { height: 100%; margin: 0; }
  body { box-sizing: border-box; display: flex; flex-direction: column; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 12px 16px 8px; }
  h1 { font-size: 1.2em; font-weight: 600; margin: 0 0 6px; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0; padding: 0; }
  .legend li { display: flex; align-items: center; gap: 4px; }
  #info { min-height: 1.5em; color: var(--vscode-descriptionForeground); margin: 6px 0; overflow-wrap: anywhere; }
  #plot { flex: 1; min-height: 160px; overflow: hidden; }
  svg text { fill: var(--vscode-foreground); font-size: 11px; }
  .axis-title, .tick-label, .date-label { fill: var(--vscode-descriptionForeground); }
  .tick-label { text-anchor: end; }
  .grid { stroke: var(--vscode-editorWidget-border, var(--vscode-descriptionForeground)); stroke-opacity: 0.35; }
  .tick[data-ms="0"] .grid, .baseline { stroke: var(--vscode-descriptionForeground); stroke-opacity: 1; }
  .commit { font-family: var(--vscode-editor-font-family, monospace); }
  .hidden { display: none; }
  .build { cursor: pointer; outline: none; }
  .build .hit { fill: transparent; }
  .build:hover .hit { fill: var(--vscode-list-hoverBackground); }
  .build:focus .hit { fill: var(--vscode-list-hoverBackground); stroke: var(--vscode-focusBorder); stroke-width: 2px; }
  .shape { stroke-width: 2px; }
  .success .shape { fill: var(--vscode-testing-iconPassed); stroke: var(--vscode-testing-iconPassed); }
  .failure .shape { fill: url(#hatch); stroke: var(--vscode-testing-iconFailed); }
  .cancelled .shape { fill: none; stroke: var(--vscode-testing-iconSkipped); }
  .worktree .shape { stroke: var(--vscode-foreground); stroke-dasharray: 4 2; }
  .legend .worktree .shape { fill: none; }
  .mark { fill: var(--vscode-testing-iconFailed); font-size: 16px; font-weight: bold; text-anchor: middle; }
  #hatch .hatch-line { stroke: var(--vscode-testing-iconFailed); stroke-width: 3px; }
`;

/** The page: bars oldest to newest, left to right, each a button that opens its log. */
export function chartHtml(job: string, builds: readonly JobBuild[], nonce: string): string {
  const ordered = inTimeOrder(builds);
  const ticks = runTimeTicks(Math.max(0, ...ordered.map(({ b }) => runMs(b))));
  const name = escapeHtml(plain(job));
  const title = builds.length === 0 ? 'no build saved yet' : builds.length === 1 ? 'one build saved' : `the last ${builds.length} builds, oldest first`;
  const chart = builds.length === 0 ? '' : `<div id="plot">
<svg id="chart" role="group" data-top="${ticks[ticks.length - 1]}" aria-label="${name}: run time of each build, oldest first. Left and right arrows move between builds, Enter opens a build's log.">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line class="hatch-line" x1="0" y1="0" x2="0" y2="6"></line></pattern></defs>
${axesSvg(ordered, ticks)}
<g class="bars">${ordered.map(barSvg).join('\n')}</g>
</svg>
</div>`;
  return webviewPage(nonce, STYLE, `<h1>${name}: ${title}</h1>
${builds.length === 0 ? '' : legendHtml()}
<p id="info" aria-live="polite">${builds.length === 0 ? '' : 'Point at a bar, or move with the arrow keys, for its commit and time; click it (or press Enter) for its log.'}</p>
${chart}
<script nonce="${nonce}">${CHART_SCRIPT}</script>`);
}
