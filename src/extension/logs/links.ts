// What makes a saved log (and a live channel) lead somewhere: `path:line:col` of a file of the repository is
// a link to that place (the working copy's file, or the commit's version when it changed since); the `=== `
// sections make the log's outline; `Failed:` and error lines stand out.
import * as vscode from 'vscode';
import { OWN_LINE, ranIn } from '../../engine/liveLog';
import { fileRefs } from '../../jobs/problems/logRefs';
import { repositoryPath } from '../../jobs/problems/matchLog';
import type { Session } from '../session/session';
import type { Sessions } from '../session/sessions';
import { withChanges, type SourceFiles } from '../problems/sourceFiles';
import { headingRegions, HEADING_PREFIX } from './folding';
import { LogDocumentProvider } from './logDocuments';

/** Lines of a log looked at for links: the first and last parts of a long log. */
const MAX_LINK_LINES = 20_000;
const MAX_LINKS = 5_000;
/** Where the build's own lines before the command (setup, checkout, `In <folder>`) are looked for. */
const MAX_HEADER_LINES = 50;

/** Where a log document comes from: its repository, the commit it was built for, and whether it was that commit's working tree. */
export type LogOrigin = { session: Session; commit: string; worktree?: boolean };

/** How many live channels' origins are remembered (channels beyond VS Code's few are closed anyway). */
const MAX_LIVE = 50;


export class LogLinks implements vscode.DocumentLinkProvider, vscode.DocumentSymbolProvider {
  /** Live channels' documents, by the channel's name (their URIs are VS Code's own). */
  private readonly live = new Map<string, LogOrigin>();

  constructor(private readonly sessions: Sessions, private readonly sources: SourceFiles, private readonly log: (m: string) => void = () => {}) {}

  /** A live channel named `name` shows a build of `commit` in `session`. */
  noteChannel(name: string, origin: LogOrigin): void {
    this.live.delete(name);
    this.live.set(name, origin);
    for (const old of this.live.keys()) { if (this.live.size <= MAX_LIVE) { break; } this.live.delete(old); }
  }

  private async origin(doc: vscode.TextDocument): Promise<LogOrigin | undefined> {
    const saved = LogDocumentProvider.parse(doc.uri);
    if (saved) {
      const session = this.sessions.all.find((s) => s.id === saved.repoKey);
      const built = session ? await session.jobs.resultOrigin(saved.commit) : undefined;
      return session && built?.commit ? { session, commit: built.commit, worktree: built.worktree } : undefined;
    }
    if (doc.uri.scheme === 'output') {
      const shown = decodeURIComponent(doc.uri.path);
      for (const [name, origin] of this.live) { if (shown.endsWith(name)) { return origin; } }
    }
    return undefined;
  }

  async provideDocumentLinks(doc: vscode.TextDocument): Promise<vscode.DocumentLink[]> {
    try {
      return await this.links(doc);
    } catch (e) {
      // Said, not silent: a log without links is otherwise indistinguishable from one that names no file.
      this.log(`Could not find the links of ${doc.uri.toString()}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  }

  private async links(doc: vscode.TextDocument): Promise<vscode.DocumentLink[]> {
    // Which files the commit has is asked of git: no links in an untrusted workspace, which starts no process.
    const origin = await this.origin(doc);
    if (!origin || !origin.session.jobs.trusted) { return []; }
    const [headFiles, roots] = await Promise.all([this.sources.filesAt(origin.session, origin.commit), origin.session.jobs.problemRoots()]);
    // A working tree's build saw the working tree's files: those it has now are the best guess.
    const files = origin.worktree ? withChanges(headFiles, origin.session.worktreeChanges?.changes) : headFiles;
    // The folders the log says the command ran in (another machine's, for a fetched result).
    for (let i = 0; i < Math.min(doc.lineCount, MAX_HEADER_LINES); i++) {
      const folder = ranIn(doc.lineAt(i).text);
      if (folder !== undefined && !roots.includes(folder)) { roots.push(folder); }
    }
    const links: vscode.DocumentLink[] = [];
    const n = doc.lineCount;
    const lines = n <= MAX_LINK_LINES ? range(0, n) : [...range(0, MAX_LINK_LINES / 2), ...range(n - MAX_LINK_LINES / 2, n)];
    for (const i of lines) {
      const text = doc.lineAt(i).text;
      if (OWN_LINE.test(text)) { continue; } // the build's own lines: the command as written, not what it found
      for (const ref of fileRefs(text)) {
        const file = repositoryPath(ref.path, '', roots);
        if (file === undefined || !files.has(file)) { continue; }
        const args = [origin.session.id, origin.commit, file, ref.line, ref.column ?? 1, origin.worktree === true];
        const link = new vscode.DocumentLink(new vscode.Range(i, ref.index, i, ref.index + ref.length),
          vscode.Uri.parse(`command:datakitCi.openSource?${encodeURIComponent(JSON.stringify(args))}`));
        link.tooltip = `Open ${file} at line ${ref.line}${ref.column ? `, column ${ref.column}` : ''} (as built: ${origin.commit.slice(0, 7)})`;
        links.push(link);
        if (links.length >= MAX_LINKS) { return links; }
      }
    }
    return links;
  }

  /** The outline: one symbol per `=== ` section. */
  provideDocumentSymbols(doc: vscode.TextDocument): vscode.DocumentSymbol[] {
    const regions = new Map(headingRegions(doc.lineCount, (i) => doc.lineAt(i).text));
    const symbols: vscode.DocumentSymbol[] = [];
    for (let i = 0; i < doc.lineCount; i++) {
      const text = doc.lineAt(i).text;
      if (!text.startsWith(HEADING_PREFIX)) { continue; }
      const end = regions.get(i) ?? i;
      const full = new vscode.Range(i, 0, end, doc.lineAt(end).text.length);
      symbols.push(new vscode.DocumentSymbol(text.slice(HEADING_PREFIX.length).trim() || '(section)', '', vscode.SymbolKind.Namespace, full, doc.lineAt(i).range));
    }
    return symbols;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}
