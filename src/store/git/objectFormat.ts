// git's object formats: trees and commits parsed from and formatted to their raw bytes (without the
// loose-object header).
//
// Formatted here rather than by isomorphic-git's writeTree / writeCommit, which also hash and deflate each
// object their own way: 1.81x and 1.67x as long an object, a whole save 1.61x (bench/store.bench.mjs part e,
// which checks that both give the same ids). isomorphic-git would also rewrite a commit's message (no
// carriage returns, no blank lines at its ends). Parsed here because reading is ours (see objects.ts).
import { DataKitError } from '../../shared/errors';

export interface TreeEntry {
  /** As git stores it: `100644`, `100755`, `40000`, `120000`, `160000`. */
  readonly mode: string;
  readonly oid: string;
  readonly type: 'blob' | 'tree' | 'commit';
}
/** A tree's entries by name. */
export type Tree = ReadonlyMap<string, TreeEntry>;

export interface CommitInfo {
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  /** Author time, ms since the epoch: when the transaction began (the build started). */
  readonly authorTime: number;
  /** Committer time, ms since the epoch: when it was committed (the build finished). */
  readonly time: number;
}

const IDENTITY = 'DataKit CI <datakit-ci@localhost>';

/** `idBytes`: 20 for a SHA-1 repository's tree, 32 for a SHA-256 one's. */
export function parseTree(buf: Buffer, idBytes = 20): Tree {
  const tree = new Map<string, TreeEntry>();
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 1 + idBytes > buf.length) {
      throw new DataKitError('CorruptObject', 'A tree object is truncated.');
    }
    const mode = buf.toString('latin1', i, sp);
    const type = mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    tree.set(buf.toString('utf8', sp + 1, nul), { mode, type, oid: buf.toString('hex', nul + 1, nul + 1 + idBytes) });
    i = nul + 1 + idBytes;
  }
  return tree;
}

export function parseCommit(buf: Buffer): CommitInfo {
  const text = buf.toString('utf8');
  const end = text.indexOf('\n\n');
  const headers = (end < 0 ? text : text.slice(0, end)).split('\n');
  let tree = '';
  let time = 0;
  let authorTime = 0;
  const parents: string[] = [];
  const timeOf = (h: string) => Number(/ (\d+) [+-]\d{4}$/.exec(h)?.[1] ?? 0) * 1000;
  for (const h of headers) {
    if (h.startsWith('tree ')) {
      tree = h.slice(5);
    } else if (h.startsWith('parent ')) {
      parents.push(h.slice(7));
    } else if (h.startsWith('author ')) {
      authorTime = timeOf(h);
    } else if (h.startsWith('committer ')) {
      time = timeOf(h);
    }
  }
  return { tree, parents, authorTime, time, message: end < 0 ? '' : text.slice(end + 2) };
}

/** git's order: by name, as if every tree's name ended with `/`. */
export function formatTree(entries: ReadonlyMap<string, TreeEntry>): Buffer {
  const key = (name: string, e: TreeEntry) => Buffer.from(e.type === 'tree' ? `${name}/` : name);
  const sorted = [...entries].map(([name, e]) => ({ name, e, k: key(name, e) })).sort((a, b) => Buffer.compare(a.k, b.k));
  return Buffer.concat(sorted.flatMap(({ name, e }) => [Buffer.from(`${e.mode} ${name}\0`), Buffer.from(e.oid, 'hex')]));
}

export function formatCommit(tree: string, parents: readonly string[], message: string, author: Date, committer: Date): Buffer {
  const who = (when: Date) => {
    const offset = -when.getTimezoneOffset();
    const tz = `${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    return `${IDENTITY} ${Math.floor(when.getTime() / 1000)} ${tz}`;
  };
  const lines = [`tree ${tree}`, ...parents.map((p) => `parent ${p}`), `author ${who(author)}`, `committer ${who(committer)}`, '', message.endsWith('\n') ? message : `${message}\n`];
  return Buffer.from(lines.join('\n'), 'utf8');
}

/** The id of entry `name` with `mode` in a raw tree object (`<mode> <name>\0<binary id>`…). */
export function findTreeEntry(tree: Buffer, name: string, idBytes: number, mode: string): string | undefined {
  const want = Buffer.from(`${mode} ${name}\0`);
  let i = 0;
  while (i < tree.length) {
    const nul = tree.indexOf(0, i);
    if (nul < 0) { break; }
    if (tree.subarray(i, nul + 1).equals(want)) { return tree.subarray(nul + 1, nul + 1 + idBytes).toString('hex'); }
    i = nul + 1 + idBytes;
  }
  return undefined;
}
