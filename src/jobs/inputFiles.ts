// The files that an input of a key stood for, as the key saw them (for Explain Key). A pattern's record
// lists them. A plain path's record is one object id: its files are listed again — the commit's, with the
// working tree's changes laid over them for a key of the working tree, or the object itself when git has it
// — and a listing counts only when it hashes to that very id. The working tree's changes of an earlier
// build may be gone (edited again, reverted, never committed): then no listing is left, and it says why.
import { DataKitError } from '../shared/errors';
import { normalisePath, type SourceRepo, type TreeFile } from '../store/source/sourceRepo';
import { treeIdOfFiles, WorktreeOverlay, type WorktreeState } from '../store/source/worktree';
import { CONFIG_FILE } from './config/config';

/** Where a key's inputs were read: a commit, or the working tree over it. */
export interface KeySource {
  /** The commit its key.json records (HEAD, for the working tree). */
  readonly commit: string | undefined;
  readonly worktree: boolean;
  /** The working tree's changes the key was computed from, when known (a key of the working tree shown now). */
  readonly state?: WorktreeState;
}

/** A file of an input: its blob id (a submodule's commit id), and its mode when known. */
export interface InputFile {
  readonly oid: string;
  readonly mode?: string;
}

/** An input's files by path, or, in plain words, why they cannot be listed. */
export type InputListing = { readonly files: ReadonlyMap<string, InputFile> } | { readonly unlisted: string };

/** A way to list a plain path's files, and the object id that listing has. */
interface Candidate {
  files(): Promise<readonly TreeFile[]>;
  id(): Promise<string | undefined>;
}

export class InputFiles {
  private readonly listed = new Map<string, Promise<InputListing>>();
  private worktreeNow: Promise<WorktreeState | undefined> | undefined;

  constructor(
    /** The repository's reader; none in an untrusted workspace (no git runs there). */
    private readonly repo: SourceRepo | undefined,
    /** The working tree's changes now, if it can be read. */
    private readonly scanWorktree: () => Promise<WorktreeState | undefined>,
  ) {}

  /** The files of `input`, whose record in the key is `record`, read from `source`. */
  list(source: KeySource, input: string, record: unknown): Promise<InputListing> {
    if (record === null || record === undefined) { return Promise.resolve({ files: new Map() }); }
    if (Array.isArray(record)) { return Promise.resolve(fromPairs(record)); }
    if (typeof record !== 'string') { return Promise.resolve({ unlisted: 'its record is neither an object id nor a list of files' }); }
    // An object id names one content: the same id under the same path is the same files, whatever the source
    // that listed them (what one source cannot list, another may: only listings are kept).
    const cacheKey = `${input}\0${record}`;
    let p = this.listed.get(cacheKey);
    if (!p) {
      p = this.listPath(source, input, record);
      this.listed.set(cacheKey, p);
      void p.then((l) => { if ('unlisted' in l) { this.listed.delete(cacheKey); } }, () => this.listed.delete(cacheKey));
    }
    return p;
  }

  private async listPath(source: KeySource, input: string, id: string): Promise<InputListing> {
    const repo = this.repo;
    if (!repo) { return { unlisted: 'git runs in no untrusted workspace' }; }
    let base: string;
    try {
      base = normalisePath(input);
    } catch {
      return { unlisted: 'the input is not a path of the repository' };
    }
    const { commit } = source;
    if (commit !== undefined && !source.worktree) {
      const found = await this.verified(base, id, { files: () => repo.listFiles(commit, [base]), id: async () => (await repo.objectIds(commit, [base])).get(base) });
      if (found) { return found; }
    }
    if (source.state && source.state.head === commit) {
      const found = await this.verified(base, id, overlay(repo, source.state, base));
      if (found) { return found; }
    }
    const stored = await repo.objectFiles(id);
    if (stored) {
      if (stored.kind !== 'tree') { return { files: new Map([[base, { oid: id }]]) }; }
      return { files: byPath(stored.files.map((f) => ({ ...f, path: base === '' ? f.path : `${base}/${f.path}` }))) };
    }
    if (source.worktree && commit !== undefined) {
      const now = await (this.worktreeNow ??= this.scanWorktree().catch(() => undefined));
      if (now && now.head === commit) {
        const found = await this.verified(base, id, overlay(repo, now, base));
        if (found) { return found; }
      }
      return { unlisted: `the working tree's changes it was built from (over ${commit.slice(0, 7)}) are no longer there: edited again, reverted or never committed` };
    }
    if (commit === undefined) { return { unlisted: 'its key.json names no commit, and git does not have its object id' }; }
    return { unlisted: `git has neither its object id nor, at commit ${commit.slice(0, 7)}, files with that id` };
  }

  /**
   * The candidate's files when they are the ones `id` stands for: the listing has that id (the whole tree may
   * also be keyed without .datakit-ci.json, which the job's definition covers); undefined otherwise.
   */
  private async verified(base: string, id: string, candidate: Candidate): Promise<InputListing | undefined> {
    try {
      const files = await candidate.files();
      if ((await candidate.id()) === id) { return { files: byPath(files) }; }
      if (base === '') {
        const kept = files.filter((f) => f.path !== CONFIG_FILE);
        if (treeIdOfFiles(kept) === id) { return { files: byPath(kept) }; }
      }
      return undefined;
    } catch (e) {
      if (DataKitError.is(e)) { return undefined; } // an unknown commit, an unreadable object: another candidate may do
      throw e;
    }
  }
}

/** The working tree's files under `base`, as a commit of `state` would have them. */
function overlay(repo: SourceRepo, state: WorktreeState, base: string): Candidate {
  const o = new WorktreeOverlay(repo, state);
  return { files: () => o.listFiles([{ base }]), id: async () => (await o.objectIds([base])).get(base) };
}

function byPath(files: readonly TreeFile[]): Map<string, InputFile> {
  return new Map(files.map((f) => [f.path, { oid: f.oid, mode: f.mode }]));
}

/** A pattern's record: its (path, blob id) pairs. */
function fromPairs(record: readonly unknown[]): InputListing {
  const files = new Map<string, InputFile>();
  for (const pair of record) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') { return { unlisted: 'its list of files cannot be read' }; }
    files.set(pair[0], { oid: pair[1] });
  }
  return { files };
}
