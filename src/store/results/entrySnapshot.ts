// One saved result as it is read: the files of a commit of an entry's branch.
import { DataKitError } from '../../shared/errors';
import { splitTreePath } from '../git/names';
import type { Tree, TreeEntry } from '../git/objectFormat';
import type { ObjectStore } from '../git/objects';
import type { EntrySnapshot } from '../../shared/results';

/** The files of a result's tree that the store itself gives a meaning to. */
export const REBUILD_FILE = 'rebuild-requested';
export const FAILURE_FILE = 'failure';
export const LOG_FILE = 'log';

export class Snapshot implements EntrySnapshot {
  constructor(private readonly objects: ObjectStore, readonly commit: string, readonly ref: string, private readonly repo: string) {}

  async message(): Promise<string> {
    return (await this.objects.readCommit(this.commit)).message;
  }

  async verify(): Promise<void> {
    // Every object is checked as `verify` checks it; one the cache of objects read serves is checked at once
    // (verifiedNow), without a wait per object.
    const o = this.objects;
    if (!o.verifiedNow(this.commit)) { await o.verify(this.commit); }
    const walk = async (treeOid: string): Promise<void> => {
      if (!o.verifiedNow(treeOid)) { await o.verify(treeOid); }
      for (const e of (o.treeNow(treeOid) ?? await o.readTree(treeOid)).values()) {
        if (e.type === 'tree') {
          await walk(e.oid);
        } else if (e.type === 'blob' && !o.verifiedNow(e.oid)) {
          await o.verify(e.oid);
        }
      }
    };
    await walk((o.commitNow(this.commit) ?? await o.readCommit(this.commit)).tree);
  }

  async readFile(file: string): Promise<Uint8Array> {
    const e = await this.find(file);
    if (!e || e.type !== 'blob') {
      throw new DataKitError('NotFound', `${file} ${e ? 'is a directory' : 'does not exist'} in commit ${this.commit}${this.ref ? ` of ${this.ref}` : ''} in ${this.repo}.`);
    }
    return (await this.objects.read(e.oid)).content;
  }

  async exists(file: string): Promise<boolean> {
    return (await this.find(file)) !== undefined;
  }

  async paths(): Promise<string[]> {
    return (await this.files()).map((f) => f.path);
  }

  async files(): Promise<{ path: string; mode: string }[]> {
    const out: { path: string; mode: string }[] = [];
    const walk = async (tree: Tree, prefix: string): Promise<void> => {
      for (const [name, e] of tree) {
        if (e.type === 'tree') {
          await walk(await this.objects.readTree(e.oid), `${prefix}${name}/`);
        } else {
          out.push({ path: `${prefix}${name}`, mode: e.mode });
        }
      }
    };
    await walk(await this.root(), '');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private async root(): Promise<Tree> {
    const tree = (this.objects.commitNow(this.commit) ?? await this.objects.readCommit(this.commit)).tree;
    return this.objects.treeNow(tree) ?? this.objects.readTree(tree);
  }

  private async find(file: string): Promise<TreeEntry | undefined> {
    const parts = splitTreePath(file);
    let tree = await this.root();
    for (let i = 0; ; i++) {
      const e = tree.get(parts[i]);
      if (!e || i === parts.length - 1) {
        return e;
      }
      if (e.type !== 'tree') {
        return undefined;
      }
      tree = await this.objects.readTree(e.oid);
    }
  }
}
