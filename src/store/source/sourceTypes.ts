// What the readers of the user's repository hand out, and the paths they take: a path of a commit as
// cat-file expects it, and which files a listing of a folder holds.
import { DataKitError } from '../../shared/errors';

export interface RepoHead {
  readonly commit: string;
  /** The branch's short name; undefined when HEAD is detached. */
  readonly branch?: string;
}

/** A file of a commit's tree. */
export interface TreeFile {
  readonly path: string;
  readonly oid: string;
  readonly mode: string;
}

export interface Branch {
  readonly name: string;
  readonly commit: string;
}


/**
 * A path of the commit as the lookups take it (`a/b`, '' for the root); `..` and NUL (which no git path holds)
 * are refused. A newline or carriage return is a character of a name like any other (see treeLookup.ts).
 */
export function normalisePath(p: string): string {
  if (p.includes('\0')) {
    throw new DataKitError('InvalidPath', `A path with a NUL cannot be looked up: ${JSON.stringify(p)}`);
  }
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) { throw new DataKitError('InvalidPath', `A path must stay inside the repository: ${p}`); }
  return parts.join('/');
}

/** What `listFiles` lists: the files under `base`, at most `depth` levels down (undefined: all). */
export interface TreeListing {
  readonly base: string;
  readonly depth?: number;
}

/** Whether `file` is one that `spec` lists. */
export function within(file: string, spec: TreeListing): boolean {
  if (spec.base !== '' && file !== spec.base && !file.startsWith(`${spec.base}/`)) { return false; }
  if (spec.depth === undefined || file === spec.base) { return true; }
  const rest = spec.base === '' ? file : file.slice(spec.base.length + 1);
  return rest.split('/').length <= spec.depth;
}
