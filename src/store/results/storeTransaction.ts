// One entry's next commit: staged changes applied on the entry's head, then a compare-and-swap of its
// branch; on a lost race the same changes are applied again on the new head.
import { DataKitError } from '../../shared/errors';
import { splitTreePath } from '../git/names';
import type { TreeEntry } from '../git/objectFormat';
import type { Journal, ObjectStore } from '../git/objects';
import { afterConcurrentGc } from '../git/gcGuard';
import type { Refs } from '../git/refLock';
import type { FileMode, StoreTransaction } from '../../shared/results';

const MAX_TRIES = 20;
const FILE_MODE: FileMode = '100644';
const DIR_MODE = '40000';

type Op = { readonly kind: 'remove'; readonly path: string[] } | { readonly kind: 'write'; readonly path: string[]; readonly oid: Promise<string>; readonly mode: FileMode };

/** A directory being edited: its original tree (if any), loaded only when a change goes through it. */
interface Dir {
  oid?: string;
  children?: Map<string, TreeEntry | Dir>;
  dirty: boolean;
}

export interface TransactionOptions {
  /** The head the changes are meant for (null: a new branch); by default, the head when `commit` starts. */
  base?: string | null;
  /** The clock, in ms since the epoch (tests inject one). */
  now?: () => number;
  /** Told when the head cannot be read and the commit starts the branch afresh. */
  onWarning?: (message: string) => void;
}

export class GitStoreTransaction implements StoreTransaction {
  private readonly ops: Op[] = [];
  /** Every object this transaction wrote, kept until its ref has moved (see gcGuard.ts). */
  private readonly journal: Journal = new Map();
  private state: 'open' | 'committing' | 'done' = 'open';
  private tries = 0;
  private readonly now: () => number;
  /** The author time of the commit: when the transaction began, i.e. when the build started. */
  private readonly started: Date;

  constructor(
    private readonly objects: ObjectStore,
    private readonly refs: Refs,
    readonly ref: string,
    private readonly options: TransactionOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.started = new Date(this.now());
  }

  /** How many commits the last `commit` made before its compare-and-swap succeeded (1 without a race). */
  get attempts(): number {
    return this.tries;
  }

  remove(path: string): void {
    this.checkOpen();
    this.ops.push({ kind: 'remove', path: splitTreePath(path) });
  }

  writeFile(path: string, data: Uint8Array | string, mode: FileMode = FILE_MODE): Promise<void> {
    this.checkOpen();
    const parts = splitTreePath(path);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    // Staged in call order now; the blob is written meanwhile.
    const oid = this.objects.writeBlob(bytes, this.journal);
    // Not swallowed: its failure reaches the caller (the promise returned) and `commit` (which awaits it);
    // this only keeps it from being an unhandled rejection until then.
    oid.catch(() => undefined);
    this.ops.push({ kind: 'write', path: parts, oid, mode });
    return oid.then(() => undefined);
  }

  async commit(message: string): Promise<string> {
    this.checkOpen();
    this.state = 'committing';
    try {
      const head = this.options.base !== undefined ? this.options.base ?? undefined : await this.refs.resolve(this.ref);
      const finished = new Date(this.now());
      this.tries = 1;
      const first = await this.commitOn(head, message, finished);
      // On a lost race the same changes go on the new head, under the ref's lock, so the retry wins.
      let movedAt = 0;
      const written = await this.refs.compareAndSwap(this.ref, head, first, (current) => {
        if (++this.tries > MAX_TRIES) {
          throw new DataKitError('RefUpdateConflict', `Could not update ${this.ref}: it kept moving during ${MAX_TRIES} attempts.`);
        }
        return this.commitOn(current, message, finished);
      }, async () => {
        // What a prune took since we wrote it goes back before the ref points at it, ...
        await this.objects.restore(this.journal);
        movedAt = Date.now();
      });
      // ... and again once any `git gc` that walked the refs before the move has finished deleting.
      const again = await afterConcurrentGc(this.objects.gitdir, movedAt, () => this.objects.restore(this.journal));
      if (again > 0) {
        this.options.onWarning?.(`A git gc that ran during the save of ${this.ref} pruned ${again} of its objects; they were written again.`);
      }
      this.journal.clear();
      return written as string;
    } finally {
      this.state = 'done';
    }
  }

  private checkOpen(): void {
    if (this.state !== 'open') {
      throw new DataKitError('TransactionClosed', `The transaction on ${this.ref} is already ${this.state === 'done' ? 'committed' : 'committing'}.`);
    }
  }

  private async commitOn(head: string | undefined, message: string, finished: Date): Promise<string> {
    const base = await this.readableBase(head);
    return this.objects.writeCommit(await this.applyOn(base?.tree), base ? [base.commit] : [], message, this.started, finished, this.journal);
  }

  /**
   * The head to build on: a head commit that is missing or corrupt (a pruned or damaged object) is set aside
   * and the commit starts the branch afresh, so that the entry heals without manual steps; its tree is read
   * whole here, so that a damaged tree is found now rather than half-way through applying the changes.
   */
  private async readableBase(head: string | undefined): Promise<{ commit: string; tree: string } | undefined> {
    if (head === undefined) { return undefined; }
    try {
      const tree = (await this.objects.readCommit(head)).tree;
      await this.objects.readTree(tree);
      return { commit: head, tree };
    } catch (e) {
      if (!DataKitError.is(e, 'ObjectMissing') && !DataKitError.is(e, 'CorruptObject')) { throw e; }
      this.options.onWarning?.(`The head ${head} of ${this.ref} cannot be read (${e.message}); the new result starts the branch afresh.`);
      return undefined;
    }
  }

  /** The tree `base` (none: empty) with the staged changes applied, written to the object store. */
  private async applyOn(base: string | undefined): Promise<string> {
    const root: Dir = base ? { oid: base, dirty: false } : { children: new Map(), dirty: true };
    for (const op of this.ops) {
      if (op.kind === 'remove') {
        await this.removePath(root, op.path);
      } else {
        await this.writePath(root, op.path, await op.oid, op.mode);
      }
    }
    return this.writeDir(root, true) as Promise<string>;
  }

  private async removePath(root: Dir, parts: string[]): Promise<void> {
    let dir = root;
    for (const name of parts.slice(0, -1)) {
      const child = (await this.load(dir)).get(name);
      if (!child || !isDir(child)) {
        return;
      }
      dir.dirty = true;
      dir = child;
    }
    dir.dirty = true;
    (await this.load(dir)).delete(parts[parts.length - 1]);
  }

  private async writePath(root: Dir, parts: string[], oid: string, mode: FileMode): Promise<void> {
    let dir = root;
    for (const name of parts.slice(0, -1)) {
      const children = await this.load(dir);
      dir.dirty = true;
      let child = children.get(name);
      if (!child || !isDir(child)) {
        child = { children: new Map(), dirty: true };
        children.set(name, child);
      }
      dir = child;
    }
    dir.dirty = true;
    (await this.load(dir)).set(parts[parts.length - 1], { mode, type: 'blob', oid });
  }

  private async load(dir: Dir): Promise<Map<string, TreeEntry | Dir>> {
    if (!dir.children) {
      dir.children = new Map();
      for (const [name, e] of await this.objects.readTree(dir.oid as string)) {
        dir.children.set(name, e.type === 'tree' ? { oid: e.oid, dirty: false } : e);
      }
    }
    return dir.children;
  }

  /** Writes the changed trees bottom up; an emptied directory disappears (git has no empty trees). */
  private async writeDir(dir: Dir, isRoot: boolean): Promise<string | undefined> {
    if (!dir.dirty) {
      return dir.oid;
    }
    const entries = new Map<string, TreeEntry>();
    for (const [name, child] of dir.children ?? []) {
      if (!isDir(child)) {
        entries.set(name, child);
        continue;
      }
      const oid = await this.writeDir(child, false);
      if (oid !== undefined) {
        entries.set(name, { mode: DIR_MODE, type: 'tree', oid });
      }
    }
    return entries.size === 0 && !isRoot ? undefined : this.objects.writeTree(entries, this.journal);
  }
}

function isDir(e: TreeEntry | Dir): e is Dir {
  return 'dirty' in e;
}
