// "Explain Key" as a page a person reads: what changed since the job's previous build first (each input's
// files added, removed and changed; the definition, the tool, the setup, the jobs it needs), then the inputs,
// who built each result, and the raw key last, folded. A webview with the history chart's strict
// Content-Security-Policy (no remote content, only this page's own style) and no script at all; every text
// that comes from a result or a repository is escaped (control characters shown, not acted on).
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { buildWords, inputChangeWords, runtimeName, runtimeValueWords, shortId, sourceWords, type InputChange } from '../../jobs/explain';
import type { Explanation } from '../../jobs/repoJobs';
import { ago } from '../../shared/format';
import { webviewPage } from './page';

/** How many files of one input the page lists. */
const LISTED_FILES = 200;

/** Text as HTML: markup escaped, control characters and bidirectional overrides shown as `\u001b`. */
function text(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function code(s: string): string {
  return `<code>${text(s)}</code>`;
}

/** `3 min ago`. */
function when(iso: string): string {
  return ago(Date.parse(iso));
}

/** The page of an explanation. */
export function explainHtml(e: Explanation, nonce: string): string {
  return webviewPage(nonce, STYLE, `<h1>Why ${code(e.job)} has key ${code(e.key.slice(0, 16))}</h1>
<p class="meta" id="result">${text(`${sourceWords(e.commit, e.worktree).replace(/^./, (c) => c.toUpperCase())}: ${e.result ? `its result was ${buildWords(e.result, when, e)}` : 'no result of this key is saved yet'}.`)}</p>
<section id="changes">
<h2>What changed since the previous build</h2>
${changesHtml(e)}
</section>
<section id="inputs">
<h2>Inputs</h2>
<table class="inputs">
<thead><tr><th>Input</th><th>Object id</th><th class="num">Files</th></tr></thead>
<tbody>
${e.inputs.map((i) => `<tr><td>${code(i.input)}</td><td>${i.kind === 'pattern' ? '<span class="dim">a pattern: its files</span>' : code(shortId(i.id))}</td><td class="num">${i.files === null ? '<span class="dim">cannot be listed</span>' : i.files}</td></tr>`).join('\n')}
</tbody>
</table>
<p class="meta">The key is a digest of the tool's version, the job's definition, these inputs' object ids (a pattern's: each file's), the setup's key and the keys of the jobs it needs${e.runtime.length > 0 ? ', and the runtime inputs below' : ''}.</p>
${e.runtime.length > 0 ? `<h3>Runtime inputs</h3>
<table class="inputs runtime"><tbody>
${e.runtime.map((r) => `<tr><td>${code(runtimeName(r))}</td><td>${code(runtimeValueWords(r.value))}</td></tr>`).join('\n')}
</tbody></table>` : ''}
</section>
<details id="raw">
<summary>The key, as its key.json records it</summary>
<pre>${JSON.stringify(e.keyJson, null, 2).split('\n').map(text).join('\n')}</pre>
</details>`);
}

/** The previous build, the summary of what differs, then each changed input with its files. */
function changesHtml(e: Explanation): string {
  const p = e.previous;
  if (!p) { return `<p>No other build of ${code(e.job)} is saved: there is nothing to compare with.</p>`; }
  const c = p.changes;
  const rows: [string, string][] = [
    ['Definition', c.definition.length > 0 ? `<span class="changed">changed:</span> ${c.definition.map(code).join(', ')}` : 'unchanged'],
    ['Tool', c.tool ? `<span class="changed">${text(c.tool.before ?? 'unrecorded')} → ${text(c.tool.after)}</span>` : `${text(e.tool)}, unchanged`],
  ];
  if (c.setup) { rows.push(['Setup', `<span class="changed">${c.setup.change}</span>${c.setup.definition.length > 0 ? `: ${c.setup.definition.map(code).join(', ')}` : ''}`]); }
  if (c.needs.length > 0) { rows.push(['Needs', `the key of ${c.needs.map(code).join(', ')} changed`]); }
  for (const r of c.runtime) { rows.push([text(runtimeName(r)), `<span class="changed">${text(runtimeValueWords(r.before))} → ${text(runtimeValueWords(r.after))}</span>`]); }
  const inputs = [...c.inputs.map((i) => ['Input', i] as const), ...(c.setup?.inputs ?? []).map((i) => ['Setup input', i] as const)];
  rows.push(['Inputs', inputs.length === 0 ? 'unchanged' : `<span class="changed">${inputs.length} changed</span>`]);
  const nothing = c.definition.length === 0 && !c.tool && !c.setup && c.needs.length === 0 && inputs.length === 0 && c.runtime.length === 0
    ? '<p>No part of the key differs, yet the keys do: the previous one was computed by other rules.</p>' : '';
  return `<p class="meta">The previous build: key ${code(p.key.slice(0, 16))}, ${text(buildWords(p.build, when))}.</p>
<table class="summary"><tbody>
${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('\n')}
</tbody></table>
${nothing}${inputs.map(([what, i]) => inputHtml(what, i)).join('\n')}`;
}

/** One changed input: its counts, and each file that differs (or why they cannot be listed). */
function inputHtml(what: string, i: InputChange): string {
  const head = `<h3>${what} ${code(i.input)}: ${text(inputChangeWords(i))}</h3>`;
  if (!i.files) { return `${head}\n<p class="note">${text(i.unlisted ?? '')}</p>`; }
  const all = [...i.files.added.map((f) => ['added', f]), ...i.files.removed.map((f) => ['removed', f]), ...i.files.changed.map((f) => ['changed', f])]
    .sort((a, b) => (a[1]! < b[1]! ? -1 : a[1]! > b[1]! ? 1 : 0));
  const more = all.length > LISTED_FILES ? `<p class="meta">… and ${all.length - LISTED_FILES} more (<code>datakit-ci explain --json</code> lists them all).</p>` : '';
  return `${head}
<table class="files"><tbody>
${all.slice(0, LISTED_FILES).map(([w, f]) => `<tr class="${w}"><td class="badge ${w}">${w}</td><td>${code(f!)}</td></tr>`).join('\n')}
</tbody></table>${more}`;
}

const STYLE = `
  body { color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 12px 20px; line-height: 1.5; max-width: 960px; }
  h1 { font-size: 1.35em; font-weight: 600; margin: 0 0 4px; }
  h2 { font-size: 1.1em; font-weight: 600; margin: 20px 0 6px; border-bottom: 1px solid var(--vscode-panel-border, transparent); padding-bottom: 2px; }
  h3 { font-size: 1em; font-weight: 600; margin: 14px 0 4px; }
  code, pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  code { background: var(--vscode-textCodeBlock-background); padding: 0 3px; border-radius: 3px; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow: auto; }
  .meta, .dim { color: var(--vscode-descriptionForeground); }
  .note { border-left: 3px solid var(--vscode-editorWarning-foreground); padding-left: 8px; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: 2px 14px 2px 0; vertical-align: top; }
  .summary th { font-weight: 600; }
  .inputs thead th { border-bottom: 1px solid var(--vscode-panel-border, currentColor); }
  .num { text-align: right; }
  .files td { vertical-align: baseline; }
  .badge { font-size: 0.9em; width: 5em; }
  .added { color: var(--vscode-gitDecoration-addedResourceForeground); }
  .removed { color: var(--vscode-gitDecoration-deletedResourceForeground); }
  .changed { color: var(--vscode-gitDecoration-modifiedResourceForeground); }
  .files code { color: var(--vscode-foreground); }
  summary { cursor: pointer; margin-top: 20px; font-weight: 600; }
`;

/** Opens (or brings back) one Explain Key page per job of a target, its content replaced when asked again. */
export class ExplainViews implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  /** Shows `e` under `id` (one page per job of a target), titled `title`. */
  show(id: string, title: string, e: Explanation): vscode.WebviewPanel {
    let panel = this.panels.get(id);
    if (panel) {
      panel.title = title;
      panel.reveal();
    } else {
      panel = vscode.window.createWebviewPanel('datakitCi.explainKey', title, vscode.ViewColumn.Active, { enableScripts: false, localResourceRoots: [] });
      this.panels.set(id, panel);
      panel.onDidDispose(() => this.panels.delete(id));
    }
    panel.webview.html = explainHtml(e, randomBytes(16).toString('base64'));
    return panel;
  }

  dispose(): void {
    for (const p of this.panels.values()) { p.dispose(); }
  }
}
