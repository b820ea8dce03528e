// Names that become part of a ref must follow git's ref-name rules (git check-ref-format), or git
// itself would refuse to read, list, push or gc the results repository's branches.
import { DataKitError } from '../../shared/errors';

export type NameKind = 'builder' | 'entry' | 'ref prefix';

/** Why `name` is not a valid ref name (with `/` allowed between components), or undefined if it is. */
export function refNameProblem(name: string): string | undefined {
  if (name === '') {
    return 'it is empty';
  }
  if (name === '@') {
    return 'it is "@"';
  }
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(name);
  if (bad) {
    const c = bad[0];
    const shown = c === ' ' ? 'a space' : c.charCodeAt(0) < 0x20 || c === '\x7f' ? 'a control character' : `"${c}"`;
    return `it contains ${shown}`;
  }
  for (const seq of ['..', '@{', '//']) {
    if (name.includes(seq)) {
      return `it contains "${seq}"`;
    }
  }
  if (name.startsWith('/') || name.endsWith('/')) {
    return 'it starts or ends with "/"';
  }
  if (name.endsWith('.')) {
    return 'it ends with "."';
  }
  for (const part of name.split('/')) {
    if (part.startsWith('.')) {
      return `its component "${part}" starts with "."`;
    }
    if (part.endsWith('.lock')) {
      return `its component "${part}" ends with ".lock"`;
    }
  }
  return undefined;
}

/**
 * The names found valid, by kind: each is checked once per process, where a cached build names every job's
 * branch several times (to read it, to say where its result is, to look for a fetched one).
 */
const validNames = new Map<NameKind, Set<string>>();
const MAX_VALID_NAMES = 10_000;

/** Throws `InvalidRefName` naming the bad name. A builder name is one component; an entry may hold `/`. */
export function checkName(kind: NameKind, name: string): void {
  let valid = validNames.get(kind);
  if (valid?.has(name)) { return; }
  let problem = refNameProblem(name);
  if (problem === undefined && kind === 'builder' && name.includes('/')) {
    problem = 'it contains "/" (a builder name is the first component of its branches)';
  }
  if (problem !== undefined) {
    throw new DataKitError('InvalidRefName', `Invalid ${kind} name ${JSON.stringify(name)}: ${problem}.`);
  }
  if (!valid) { validNames.set(kind, valid = new Set()); }
  if (valid.size >= MAX_VALID_NAMES) { valid.clear(); }
  valid.add(name);
}

/** Checks a ref prefix such as `refs/heads/` (it must start with `refs/` and end with `/`). */
export function checkRefPrefix(prefix: string): void {
  if (!prefix.startsWith('refs/') || !prefix.endsWith('/')) {
    throw new DataKitError('InvalidRefName', `Invalid ref prefix ${JSON.stringify(prefix)}: it must start with "refs/" and end with "/".`);
  }
  checkName('ref prefix', prefix.slice(0, -1));
}

/** The branch of one entry: `<prefix><builder>/<entry>`. */
export function entryRefName(prefix: string, builder: string, entry: string): string {
  checkName('builder', builder);
  checkName('entry', entry);
  return `${prefix}${builder}/${entry}`;
}

/** A path inside an entry's tree, split into components; throws `InvalidPath`. */
export function splitTreePath(path: string): string[] {
  const parts = path.split('/');
  for (const p of parts) {
    // `.git` in a tree is what `git fsck --strict` rejects, and NUL cannot be stored in a tree entry.
    if (p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git' || p.includes('\0')) {
      throw new DataKitError('InvalidPath', `Invalid path ${JSON.stringify(path)} in an entry's tree.`);
    }
  }
  return parts;
}
