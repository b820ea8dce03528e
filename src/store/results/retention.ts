// Retention: what gc keeps of the results repository (entries by age and by the current targets, each
// entry's last builds, a size cap), then git prunes and packs the rest.
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { runGit } from '../git/git';
import { checkName } from '../git/names';
import type { CommitInfo } from '../git/objectFormat';
import { whilePruning } from './fetchGuard';
import { FETCHED_PREFIX } from './sharing';
import { removeDeadGcLocks } from './staleLocks';
import type { StoreContext } from './storeContext';

export interface GcOptions {
  /** Entries never removed (the current targets' keys): their history is only trimmed. */
  keep(entry: string): boolean;
  /** Whether an entry is being written now (a build holds its lock): it is left whole. */
  busy(entry: string): Promise<boolean>;
  maxAgeMs: number;
  keepBuilds: number;
  maxBytes?: number;
  now?: number;
}

export interface GcReport {
  entries: number;
  removed: number;
  trimmed: number;
  commitsDropped: number;
  busy: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Still over `maxBytes` with only kept or busy results left. */
  overCap: boolean;
  /** When over the cap: what is left that gc could not remove, said (`3 results of HEAD and the local branches, …`). */
  left?: string;
}

type Head = { entry: string; ref: string; commit: string; time: number };

export class Retention {
  private readonly dir: string;

  constructor(private readonly ctx: StoreContext) {
    this.dir = ctx.dir;
  }

  /**
   * Retention: removes the entries of `builder` that are neither kept (`keep`: the current targets' keys)
   * nor younger than `maxAgeMs`, trims every other entry's history to its last `keepBuilds` commits, then
   * has git prune and repack; with `maxBytes`, removes the oldest remaining entries that are not kept until
   * the objects fit. An entry `busy` says is being written (a build's lock) is left whole. Results are
   * removed by moving their refs with the old value checked (an entry saved meanwhile stays), and pruned
   * objects that a concurrent save still needs are written again by that save (see gcGuard.ts).
   */
  async gc(builder: string, options: GcOptions): Promise<GcReport> {
    checkName('builder', builder);
    this.ctx.checkProcesses('gc the results repository');
    const now = options.now ?? Date.now();
    const bytesBefore = objectBytes(this.dir);
    const heads = await this.heads(builder);
    const report: GcReport = { entries: heads.length, removed: 0, trimmed: 0, commitsDropped: 0, busy: 0, bytesBefore, bytesAfter: bytesBefore, overCap: false };
    const busy = new Set<string>();
    for (const h of heads) { if (await options.busy(h.entry)) { busy.add(h.entry); } }
    report.busy = busy.size;
    const removable = (h: Head): boolean => !busy.has(h.entry) && !options.keep(h.entry);
    const old = heads.filter((h) => removable(h) && now - h.time > options.maxAgeMs);
    report.removed += await this.deleteRefs(old);
    const gone = new Set(old.map((h) => h.entry));
    for (const h of heads) {
      if (gone.has(h.entry) || busy.has(h.entry)) { continue; }
      const dropped = await this.trimHistory(h.ref, h.commit, options.keepBuilds);
      if (dropped > 0) { report.trimmed++; report.commitsDropped += dropped; }
    }
    await this.repack();
    report.bytesAfter = objectBytes(this.dir);
    if (options.maxBytes !== undefined) {
      const rest = heads.filter((h) => !gone.has(h.entry) && removable(h));
      await this.fitUnder(builder, options, report, rest, { kept: heads.filter((h) => !gone.has(h.entry) && options.keep(h.entry) && !busy.has(h.entry)).length, busy: busy.size });
    }
    return report;
  }

  /**
   * The size cap: removes the oldest results first, ours and those fetched from remotes alike (a fetched
   * result held its objects as much as ours), a tenth at a time, until the objects fit under `maxBytes` or
   * only what must stay is left; then says what that is. A fetched result stays if it is the result of a
   * current target that has none of its own (a lookup would use it).
   */
  private async fitUnder(builder: string, options: GcOptions, report: GcReport, ours: Head[], left: { kept: number; busy: number }): Promise<void> {
    const maxBytes = options.maxBytes!;
    const local = new Set((await this.ctx.listEntries(builder)).map((e) => e.entry));
    const fetched: Head[] = [];
    let fetchedKept = 0;
    for (const [ref, commit] of await this.ctx.refs.list(FETCHED_PREFIX)) {
      const [, refBuilder, ...entry] = ref.slice(FETCHED_PREFIX.length).split('/');
      const name = entry.join('/');
      if (refBuilder === builder && options.keep(name) && !local.has(name)) { fetchedKept++; continue; }
      let time = 0;
      try { time = (await this.ctx.objects.readCommit(commit)).time; } catch { /* unreadable: as old as can be */ }
      fetched.push({ entry: name, ref, commit, time });
    }
    const rest = [...ours, ...fetched].sort((a, b) => a.time - b.time);
    while (report.bytesAfter > maxBytes && rest.length > 0) {
      const batch = rest.splice(0, Math.max(1, Math.ceil(rest.length / 10)));
      report.removed += await this.deleteRefs(batch);
      await this.repack();
      report.bytesAfter = objectBytes(this.dir);
    }
    report.overCap = report.bytesAfter > maxBytes;
    if (!report.overCap) { return; }
    const others = (await this.ctx.listEntries()).filter((e) => e.builder !== builder).length;
    const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
    const parts = [
      left.kept > 0 ? `${plural(left.kept, 'result')} of HEAD and the local branches` : '',
      left.busy > 0 ? `${plural(left.busy, 'result')} being built now` : '',
      fetchedKept > 0 ? `${plural(fetchedKept, 'fetched result')} that HEAD or a local branch uses` : '',
      others > 0 ? `${plural(others, 'result')} of other builders (gc looks at ${builder}'s only)` : '',
    ].filter(Boolean);
    report.left = parts.length > 0 ? parts.join(', ')
      : 'no result: what takes the space is held by no result (a pack git keeps, or refs other than results)';
  }

  /** The head of each entry of `builder`, with its commit time (0 if the head cannot be read: as old as can be). */
  private async heads(builder: string): Promise<Head[]> {
    const heads: Head[] = [];
    for (const e of await this.ctx.listEntries(builder)) {
      let time = 0; // unreadable: as old as can be
      try { time = (await this.ctx.objects.readCommit(e.commit)).time; } catch { /* removed below unless kept */ }
      heads.push({ entry: e.entry, ref: this.ctx.refName(builder, e.entry), commit: e.commit, time });
    }
    return heads;
  }

  /** Deletes refs that still hold the given commits (one transaction; one at a time if one moved). */
  private async deleteRefs(heads: readonly { ref: string; commit: string }[]): Promise<number> {
    if (heads.length === 0) { return 0; }
    const git = (input: string) => this.ctx.git('remove results', ['update-ref', '--stdin'], { input, allowFailure: true });
    const all = await git(heads.map((h) => `delete ${h.ref} ${h.commit}\n`).join(''));
    if (all.code === 0) { return heads.length; }
    let n = 0;
    for (const h of heads) { if ((await git(`delete ${h.ref} ${h.commit}\n`)).code === 0) { n++; } } // one saved meanwhile stays
    return n;
  }

  /**
   * Keeps the last `keep` commits of an entry's history: the kept ones are written again on a new root (same
   * trees, messages and times), and the ref moves only if it still holds `head`. Returns how many commits
   * were dropped.
   */
  private async trimHistory(ref: string, head: string, keep: number): Promise<number> {
    const chain: { commit: string; info: CommitInfo }[] = [];
    let total = 0;
    for (let c: string | undefined = head; c !== undefined;) {
      let info: CommitInfo;
      try { info = await this.ctx.objects.readCommit(c); } catch { break; } // history ends where it cannot be read
      total++;
      if (chain.length < keep) { chain.push({ commit: c, info }); }
      if (total > keep) { break; }
      c = info.parents[0];
    }
    if (total <= keep) { return 0; }
    let parent: string | undefined;
    for (const { info } of chain.reverse()) {
      parent = await this.ctx.objects.writeCommit(info.tree, parent ? [parent] : [], info.message, new Date(info.authorTime), new Date(info.time));
    }
    const moved = await this.ctx.refs.compareAndSwap(ref, head, parent!);
    if (moved === undefined) { return 0; } // saved meanwhile: trimmed next time
    const count = await this.ctx.git('trim a history', ['rev-list', '--count', '--first-parent', head], { allowFailure: true });
    return count.code === 0 ? Number(count.stdout.toString('utf8').trim()) - keep : total - keep;
  }

  /** git prunes what no ref reaches and packs the rest (`gc.pid` tells concurrent saves; see gcGuard.ts). */
  private async repack(): Promise<void> {
    const dead = await removeDeadGcLocks(this.dir);
    if (dead) { this.ctx.onWarning?.(`Removed ${dead.removed.join(', ')} from ${this.dir}: git gc (pid ${dead.pid}) was stopped before it ended and left ${dead.removed.length === 1 ? 'it' : 'them'}`); }
    // Never beside a fetch: the prune would delete what it has written and no ref names yet (see fetchGuard.ts).
    const r = await whilePruning(this.dir, () => runGit([`--git-dir=${this.dir}`, '-c', 'gc.autoDetach=false', '-c', 'gc.reflogExpire=now', '-c', 'gc.reflogExpireUnreachable=now', 'gc', '--prune=now', '--quiet'], { cwd: this.dir, allowFailure: true }),
      (pids) => this.ctx.onWarning?.(`gc waits for the fetch${pids.length === 1 ? '' : 'es'} into ${this.dir} (pid ${pids.join(', ')}) to end: pruning now would delete what ${pids.length === 1 ? 'it is' : 'they are'} writing`));
    if (r.code === 0) { return; }
    const running = /gc is already running on machine '([^']*)' pid (\d+)/.exec(r.stderr);
    throw new DataKitError('GitFailed', running
      ? `Another git gc is running on this results repository (${running[1]}, pid ${running[2]}): the results were removed; run gc again once it has ended to reclaim their space`
      : `git gc failed on the results repository: ${r.stderr.trim()}`);
  }
}

/** The bytes of a git directory's objects (loose and packed). */
export function objectBytes(gitDir: string): number {
  let total = 0;
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { walk(p); } else if (e.isFile()) { try { total += fs.statSync(p).size; } catch { /* gone meanwhile */ } }
    }
  };
  try { walk(path.join(gitDir, 'objects')); } catch { /* no objects yet */ }
  return total;
}
