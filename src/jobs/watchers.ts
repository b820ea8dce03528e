// Watching the repository without running anything: its refs (HEAD moved, a branch moved, a fetch or a push
// moved a remote-tracking branch) and the results repository (a result saved or a build started by another
// process). File watches only: an untrusted window may watch too. Watches are not recursive: Node's
// recursive watch on Linux loses a file once git replaces it by renaming its lock file over it.
import fs = require('node:fs');
import path = require('node:path');
import type { Disposable } from '../shared/events';
import type { RepositoryDirs } from '../store/source/gitDirs';

/** How long after the last change of a ref the change is told. */
const REFS_DEBOUNCE_MS = 250;
/** How long after the last change in the results repository it is told. */
const RESULTS_DEBOUNCE_MS = 100;

/** Watches a folder (not recursively) until disposed; a folder that does not exist (yet) is not watched. */
function watchFolder(dir: string, onFile: (file: string | null) => void): fs.FSWatcher | undefined {
  try {
    const w = fs.watch(dir, (_event, file) => onFile(file === null ? null : file.toString()));
    w.on('error', () => w.close());
    return w;
  } catch {
    return undefined; // not there (a fresh repository without refs/heads, a job without results yet)
  }
}

/**
 * Tells `onChange` (debounced) when HEAD or a branch moves: in the git directory only HEAD (git locks it on
 * every commit, checkout and reset, so HEAD.lock shows each move), ORIG_HEAD, packed-refs and FETCH_HEAD
 * (a fetch moved remote-tracking branches, an upstream among them) matter — the index changes all the time
 * (VS Code's own git view refreshes it) and must not make anyone read the repository again; and each
 * remote's folder of remote-tracking branches (a push updates the upstream there, without FETCH_HEAD).
 */
export function watchRefs(dirs: RepositoryDirs, onChange: () => void): Disposable {
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, REFS_DEBOUNCE_MS);
  };
  const GIT_DIR_FILES = new Set(['HEAD', 'HEAD.lock', 'ORIG_HEAD', 'packed-refs', 'FETCH_HEAD']);
  const watches: [string, (file: string | null) => boolean][] = [
    [dirs.gitDir, (file) => file === null || GIT_DIR_FILES.has(file)],
    [path.join(dirs.commonDir, 'refs', 'heads'), () => true],
  ];
  if (dirs.commonDir !== dirs.gitDir) { // a linked worktree: branches are packed in the common dir
    watches.push([dirs.commonDir, (file) => file === null || file === 'packed-refs' || file === 'FETCH_HEAD']);
  }
  const remotes = path.join(dirs.commonDir, 'refs', 'remotes');
  let remoteFolders: string[] = [];
  try { remoteFolders = fs.readdirSync(remotes, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(remotes, d.name)); } catch { /* no remote */ }
  for (const folder of remoteFolders) { watches.push([folder, () => true]); }
  const watchers = watches.map(([dir, relevant]) => watchFolder(dir, (file) => { if (relevant(file)) { changed(); } }));
  return { dispose: () => { clearTimeout(timer); for (const w of watchers) { w?.close(); } } };
}

/** What changed in the results repository since it was last told. */
export interface ResultsChange {
  /** Entries (`<job>/<key>`) whose branch moved. */
  readonly moved: readonly string[];
  /** Entries whose build lock was taken or released. */
  readonly locked: readonly string[];
  /** Something that may concern any entry (packed-refs rewritten, a job's first result or lock). */
  readonly all: boolean;
}

/**
 * Watches the results repository: an entry's branch moved by another process (a terminal, another window, a
 * fetch), and its lock file, which says when another process builds it. Each job's folder of refs and of
 * locks is watched, and the folders above them for jobs that have none yet; `jobs` says which jobs are shown
 * (asked again after each change).
 */
export class ResultsWatcher implements Disposable {
  private readonly watches = new Map<string, fs.FSWatcher>();
  private readonly moved = new Set<string>();
  private readonly locked = new Set<string>();
  private all = false;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly layout: { refsDir: string; locksDir: string; resultsDir: string }, private readonly jobs: () => Iterable<string>,
    private readonly onChange: (change: ResultsChange) => void) {
    this.watch(layout.resultsDir, (file) => { if (file === 'packed-refs') { this.all = true; } });
    this.watch(layout.refsDir, () => { this.all = true; }); // a job's first result
    this.watch(layout.locksDir, () => { this.all = true; });
    this.sync();
  }

  /** Watches the folders of every job shown. */
  sync(): void {
    for (const job of new Set(this.jobs())) {
      this.watch(path.join(this.layout.refsDir, job), (file) => { if (!file.endsWith('.lock')) { this.moved.add(`${job}/${file}`); } });
      this.watch(path.join(this.layout.locksDir, job), (file) => { if (file.endsWith('.lock')) { this.locked.add(`${job}/${file.slice(0, -'.lock'.length)}`); } });
    }
  }

  private watch(folder: string, onFile: (file: string) => void): void {
    if (this.disposed || this.watches.has(folder)) { return; }
    const w = watchFolder(folder, (file) => { if (file) { onFile(file); this.schedule(); } });
    if (!w) { this.watchAncestor(folder); return; }
    w.on('error', () => this.watches.delete(folder));
    this.watches.set(folder, w);
  }

  /**
   * A folder that is not there yet (a results repository whose refs are all packed has no refs/heads/…): its
   * nearest folder that is, inside the results repository, is watched instead, and anything made there is a
   * change that may concern any entry (the next sync then watches the folder itself).
   */
  private watchAncestor(folder: string): void {
    for (let dir = path.dirname(folder); dir.startsWith(this.layout.resultsDir) && dir !== folder; folder = dir, dir = path.dirname(dir)) {
      if (this.watches.has(dir)) { return; }
      const w = watchFolder(dir, () => { this.all = true; this.schedule(); });
      if (w) {
        w.on('error', () => this.watches.delete(dir));
        this.watches.set(dir, w);
        return;
      }
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const change: ResultsChange = { moved: [...this.moved], locked: [...this.locked], all: this.all };
      this.moved.clear();
      this.locked.clear();
      this.all = false;
      this.sync();
      this.onChange(change);
    }, RESULTS_DEBOUNCE_MS);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const w of this.watches.values()) { w.close(); }
    this.watches.clear();
  }
}
