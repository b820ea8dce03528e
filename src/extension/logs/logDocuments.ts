// Saved build logs as read-only documents on `datakit-ci-log:/<repoKey>/<commit>/<title>.log` URIs: the
// text comes from the results repository's commit, never from a file path in the URI.
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { isObjectId } from '../../shared/objectId';
import { inertInEditor, lineStarts, parseAnsi, positionAt, styleKey, type AnsiStyle } from '../../shared/ansi';

export const LOG_SCHEME = 'datakit-ci-log';
export const LOG_LANGUAGE = 'datakit-ci-log';

/** What a registered repository key resolves to: anything that reads a saved log (a `GitStore`). */
export interface SavedLogReader {
  readLog(saved: { commit: string }): Promise<string>;
}

export type LogResolver = (repoKey: string) => SavedLogReader | undefined;

/** The styled ranges of one document, one item per distinct style. */
export type StyledRanges = Map<string, { style: AnsiStyle; ranges: vscode.Range[] }>;

/** How a log is drawn: its ANSI colours, and the lines that say something failed. */
export interface LogLooks {
  readonly styles: StyledRanges;
  readonly errorLines: vscode.Range[];
}

/**
 * A line that says something failed: the build's own `[time] Failed:` line and common error forms — not the
 * build's `[time] Running: <command>` line, whose command may well mention errors.
 */
export const ERROR_LINE = /^(?!\[[\d :-]{19}\] Running: )(?:(?:\[[\d :-]{19}\] )?Failed:|Error\b|ERROR\b|FAIL\b|npm ERR!|.*\berror(?:\[\w+\])?[: ]|.*\bERR!|(?:.*\s)?[✗✘✖]\s)/;

/** The most error lines drawn in one log, and the longest line looked at. */
const MAX_ERROR_LINES = 5000;
const MAX_ERROR_LINE_LENGTH = 2000;

// One path segment of safe characters, never `.` or `..`.
const REPO_KEY = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;
const TITLE_CHARS = /[^\p{L}\p{N} ._@()+,=\u00b7-]+/gu;
const FILE = /^[\p{L}\p{N} ._@()+,=\u00b7-]{1,100}\.log$/u;
// Parsed colours of the most recently provided logs, so that re-showing an editor needs no git read.
const STYLE_CACHE_SIZE = 16;
// Beyond this many coloured runs a log is shown uncoloured past that point: decorations cost per range.
const MAX_DECORATED_SPANS = 100_000;

function sanitizeTitle(title: string): string {
  const clean = title.replace(TITLE_CHARS, '_').trim().slice(0, 100);
  return clean === '' ? 'log' : clean;
}

export class LogDocumentProvider implements vscode.TextDocumentContentProvider {
  private readonly styleCache = new Map<string, LogLooks>();

  constructor(private readonly resolve: LogResolver) {}

  /** The URI of the log saved in `commit`; `title` only names the tab. */
  static uri(repoKey: string, commit: string, title: string): vscode.Uri {
    if (!REPO_KEY.test(repoKey)) {
      throw new DataKitError('InvalidArgument', `Invalid repository key for a log URI: ${JSON.stringify(repoKey)}`);
    }
    if (!isObjectId(commit, 'sha1')) {
      throw new DataKitError('InvalidArgument', `Invalid commit for a log URI: ${JSON.stringify(commit)}`);
    }
    return vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${repoKey}/${commit}/${sanitizeTitle(title)}.log` });
  }

  /** `LogDocumentProvider.uri`, for callers that hold the provider. */
  uriFor(repoKey: string, commit: string, title: string): vscode.Uri {
    return LogDocumentProvider.uri(repoKey, commit, title);
  }

  /** The repository key and commit named by `uri`, or undefined if it is not exactly a log URI. */
  static parse(uri: vscode.Uri): { repoKey: string; commit: string } | undefined {
    if (uri.scheme !== LOG_SCHEME || uri.authority !== '' || uri.query !== '' || uri.fragment !== '') {
      return undefined;
    }
    const parts = uri.path.split('/');
    if (parts.length !== 4 || parts[0] !== '' || !REPO_KEY.test(parts[1]) || !isObjectId(parts[2], 'sha1') || !FILE.test(parts[3])) {
      return undefined;
    }
    return { repoKey: parts[1], commit: parts[2] };
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const where = LogDocumentProvider.parse(uri);
    const reader = where && this.resolve(where.repoKey);
    if (where === undefined || reader === undefined) {
      throw new DataKitError('LogNotFound', `No saved DataKit CI log at ${uri.toString()}`);
    }
    let log: string;
    try {
      log = await reader.readLog({ commit: where.commit });
    } catch (e) {
      throw new DataKitError('LogNotFound', `No saved DataKit CI log at ${uri.toString()}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // A fetched result's log is whoever made it's: its colours are kept, every other escape sequence dropped,
    // any other control character or bidirectional override shown as U+FFFD.
    const parsed = parseAnsi(log);
    const text = inertInEditor(parsed.text);
    // Found once per text (not each time an editor shows it again).
    this.remember(uri.toString(), { styles: styledRanges(text, parsed.spans), errorLines: errorLines(text) });
    return text;
  }

  /** The colours of a log document: from the cache, or read again (an evicted or reopened document). */
  async styles(uri: vscode.Uri): Promise<LogLooks> {
    const key = uri.toString();
    const cached = this.styleCache.get(key);
    if (cached !== undefined) {
      this.remember(key, cached);
      return cached;
    }
    await this.provideTextDocumentContent(uri);
    return this.styleCache.get(key) ?? { styles: new Map(), errorLines: [] };
  }

  private remember(key: string, looks: LogLooks): void {
    this.styleCache.delete(key);
    this.styleCache.set(key, looks);
    for (const old of this.styleCache.keys()) {
      if (this.styleCache.size <= STYLE_CACHE_SIZE) { break; }
      this.styleCache.delete(old);
    }
  }

  /** Opens a log in a (preview) editor, in the `datakit-ci-log` language. */
  async open(uri: vscode.Uri, options: { preserveFocus?: boolean } = {}): Promise<vscode.TextEditor> {
    let doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== LOG_LANGUAGE) {
      try {
        doc = await vscode.languages.setTextDocumentLanguage(doc, LOG_LANGUAGE);
      } catch {
        // The language is not contributed (a packaging slip): folding and colours also go by scheme.
      }
    }
    return vscode.window.showTextDocument(doc, { preview: true, preserveFocus: options.preserveFocus ?? false });
  }
}

function styledRanges(text: string, spans: { start: number; end: number; style: AnsiStyle }[]): StyledRanges {
  const result: StyledRanges = new Map();
  if (spans.length === 0) { return result; }
  const starts = lineStarts(text);
  for (const span of spans.slice(0, MAX_DECORATED_SPANS)) {
    const key = styleKey(span.style);
    let item = result.get(key);
    if (item === undefined) {
      item = { style: span.style, ranges: [] };
      result.set(key, item);
    }
    const [l1, c1] = positionAt(starts, span.start);
    const [l2, c2] = positionAt(starts, span.end);
    item.ranges.push(new vscode.Range(l1, c1, l2, c2));
  }
  return result;
}

function errorLines(text: string): vscode.Range[] {
  const ranges: vscode.Range[] = [];
  let line = 0;
  for (let start = 0; start <= text.length && ranges.length < MAX_ERROR_LINES; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) { end = text.length; }
    const length = end - start;
    if (length <= MAX_ERROR_LINE_LENGTH && ERROR_LINE.test(text.slice(start, end))) { ranges.push(new vscode.Range(line, 0, line, length)); }
    start = end + 1;
  }
  return ranges;
}
