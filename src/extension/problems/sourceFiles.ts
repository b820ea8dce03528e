// Where a file named by a build lives in the editor: the working copy's file while it is what the build saw
// (same blob as in the commit), else a read-only view of the file as it was in that commit. Shared by the
// log's links and the problem matchers' diagnostics.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DataKitError } from '../../shared/errors';
import { plain } from '../../shared/format';
import { isObjectId } from '../../shared/objectId';
import { LRUCache } from 'lru-cache';
import type { Session } from '../session/session';
import type { Sessions } from '../session/sessions';

export const SOURCE_SCHEME = 'datakit-ci-source';

export class SourceFiles implements vscode.TextDocumentContentProvider {
  /** The files of a commit (for references in logs: only those are links or problems). */
  private readonly files = new LRUCache<string, Promise<Set<string>>>({ max: 16 });

  constructor(private readonly sessions: Sessions) {}

  /** The paths of the files in `commit` (cached; a commit never changes). */
  filesAt(session: Session, commit: string): Promise<Set<string>> {
    const key = `${session.id}:${commit}`;
    let found = this.files.get(key);
    if (!found) {
      found = session.jobs.commitFiles(commit);
      found.catch(() => this.files.delete(key)); // never keep a rejected promise as if it were a value
      this.files.set(key, found);
    }
    return found;
  }

  /**
   * The URIs of `paths` of `commit`: the working copy's file for those unchanged since it (as git hashes
   * them), a read-only view of the commit's version for the others.
   */
  async locate(session: Session, commit: string, paths: readonly string[]): Promise<Map<string, vscode.Uri>> {
    const out = new Map<string, vscode.Uri>();
    const top = session.dirs.topLevel;
    const unique = [...new Set(paths)];
    const view = (p: string): vscode.Uri => vscode.Uri.from({ scheme: SOURCE_SCHEME, path: `/${session.id}/${commit}/${p}` });
    if (!top || unique.length === 0) { for (const p of unique) { out.set(p, view(p)); } return out; }
    const same = await session.jobs.unchangedSince(commit, unique.filter((p) => isRegularFile(path.join(top, p))));
    for (const p of unique) { out.set(p, same.has(p) ? vscode.Uri.file(path.join(top, p)) : view(p)); }
    return out;
  }

  /**
   * Opens `file` of `commit` at a 1-based line and column (see `locate`); `worktree`: the build was of the
   * working tree over that commit, whose file is the working copy's.
   */
  async open(session: Session, commit: string, file: string, line: number, column = 1, worktree = false): Promise<vscode.TextEditor> {
    const top = session.dirs.topLevel;
    if (worktree && top && !isRegularFile(path.join(top, file)) && fs.lstatSync(path.join(top, file), { throwIfNoEntry: false })) {
      // A link (to /dev/zero, a FIFO…) or a device where the build read a file: never handed to the editor.
      throw new DataKitError('NotRegularFile', `${plain(file)} is not a regular file in the working tree: not opened`);
    }
    const uri = worktree && top ? vscode.Uri.file(path.join(top, file)) : (await this.locate(session, commit, [file])).get(file)!;
    const at = new vscode.Position(Math.max(0, line - 1), Math.max(0, column - 1));
    return vscode.window.showTextDocument(uri, { selection: new vscode.Range(at, at), preview: true });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const [, id, commit, ...rest] = uri.path.split('/');
    const session = this.sessions.all.find((s) => s.id === id);
    if (!session || !commit || !isObjectId(commit) || rest.length === 0) { throw new DataKitError('InvalidArgument', `Not a file of a known commit: ${uri.toString()}`); }
    const data = await session.jobs.readCommitFile(commit, rest.join('/'));
    if (data === undefined) { throw new DataKitError('NotFound', `${rest.join('/')} is not in ${commit.slice(0, 7)}`); }
    return data.toString('utf8');
  }
}

/**
 * Whether `p` is a regular file itself: not a symbolic link (git records the link, not what it points to, and a
 * link may point to /dev/zero or a FIFO, which the editor would try to read), a device or a FIFO.
 */
function isRegularFile(p: string): boolean {
  return fs.lstatSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** A commit's files as the working tree has them (its changes over it): changed and new paths in, deleted ones out. */
export function withChanges(files: ReadonlySet<string>, changes: ReadonlyMap<string, unknown> | undefined): Set<string> {
  const out = new Set(files);
  for (const [p, change] of changes ?? []) { if (change === null) { out.delete(p); } else { out.add(p); } }
  return out;
}
