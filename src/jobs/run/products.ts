// A setup's products on disk, sealed. Each run of a setup writes into a folder of its own,
// `deps/<key>/<run>/`, and `deps/<key>/done`, renamed into place once the products are complete, names the
// run to use: products are used only when their setup finished, and a run that died half-way (its
// processes killed when its lock is taken over) never writes into the products that jobs link.
//
//   deps/<key>/done          `<key digest>\n<run>\n`, written last
//   deps/<key>/<run>/tree/   the products (laid out as the checkout)
//   deps/<key>/<run>/manifest    their paths, NUL-separated
//   deps/<key>/<run>/links       those of them that are symbolic links, NUL-separated
//   deps/<key>/<run>/stats       size, mode and modification time of each path (a line each, empty for a link)
//   deps/<key>/<run>/shared      the package folders jobs link as one symbolic link each (sharedFolders.ts), NUL-separated
//   deps/<key>/<run>/folders     the folders under those, NUL-separated, and `folderstats` the same three of each
//   deps/<key>/<run>/log         the setup's log, shown as a `=== setup` section of every job that uses it
//   deps/<key>/<run>/changed     written when a job is found to have changed products in place (JSON)
//
// Jobs get hard links to the products, made read-only; a job can still make one writable and change it,
// which would change it for every later job (and their results would be saved under the setup's unchanged
// key). A shared folder is the setup's own: a file a job adds there is added for every job, and a file it
// changes is changed for all, as with a hard link. The stats are what a product (and a shared folder) was
// when sealed: looked at (one lstat a file) after each job that used them and before each job links them, a
// change makes the setup run again, with a warning naming the job.
import fsSync = require('node:fs');
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { unlessMissing } from '../../shared/errors';
import { foldersUnder } from './sharedFolders';

export interface SetupProducts {
  readonly key: string;
  /** The run that made them: its folder is `deps/<key>/<run>`. */
  readonly run: string;
  /** Where the products are (a folder laid out as the checkout). */
  readonly tree: string;
  /** Their paths, relative to `tree` and to a job's checkout. */
  readonly files: readonly string[];
  /** Those of `files` that are symbolic links (copied as links, not hard-linked). */
  readonly links: ReadonlySet<string>;
  readonly log: string;
  /** What each of `files` was when sealed (see statLine); empty for a link. */
  readonly stats: readonly string[];
  /** The package folders a job's checkout gets as one symbolic link each (see sharedFolders.ts), sorted. */
  readonly shared: readonly string[];
  /** Every folder under `shared`, and what each was when sealed: an entry added or removed moves its time. */
  readonly folders: readonly string[];
  readonly folderStats: readonly string[];
}

/** What was found changed in sealed products, and by which job when known. */
export interface ProductChange {
  readonly files: readonly string[];
  readonly by?: { readonly job: string; readonly commit: string };
}

const DONE = 'done';
const CHANGED = 'changed';
/** Files looked at between two turns of the event loop. */
const CHECK_SLICE = 2048;

/** A run's folder under a key's. */
export function runDir(dir: string, run: string): string {
  return path.join(dir, run);
}

/** The size, mode and modification time (to the nanosecond) of a product; what a change in place alters. */
function statLine(file: string): string | undefined {
  const st = fsSync.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.size} ${st.mode.toString(8)} ${st.mtimeNs}` : undefined;
}

/**
 * Records the products of `run` (their files made read-only already) and makes them the key's: everything is
 * written into the run's folder first, then `done` is renamed into place.
 */
export async function sealProducts(dir: string, p: Omit<SetupProducts, 'stats' | 'folders' | 'folderStats'>): Promise<SetupProducts> {
  const own = runDir(dir, p.run);
  const stats = p.files.map((f) => (p.links.has(f) ? '' : statLine(path.join(p.tree, f)) ?? ''));
  const folders = foldersUnder(p.tree, p.shared);
  const folderStats = folders.map((f) => statLine(path.join(p.tree, f)) ?? '');
  await fs.writeFile(path.join(own, 'manifest'), p.files.join('\0'));
  await fs.writeFile(path.join(own, 'links'), [...p.links].join('\0'));
  await fs.writeFile(path.join(own, 'stats'), stats.join('\n'));
  await fs.writeFile(path.join(own, 'shared'), p.shared.join('\0'));
  await fs.writeFile(path.join(own, 'folders'), folders.join('\0'));
  await fs.writeFile(path.join(own, 'folderstats'), folderStats.join('\n'));
  await fs.writeFile(path.join(own, 'log'), p.log);
  const temp = path.join(dir, `${DONE}.${p.run}`);
  await fs.writeFile(temp, `${p.key}\n${p.run}\n`);
  await fs.rename(temp, path.join(dir, DONE));
  return { ...p, stats, folders, folderStats };
}

/** How long a run's folder that `done` no longer names is kept: a build that read `done` before may be linking it. */
const OLD_RUN_KEPT_MS = 60 * 60 * 1000;

/**
 * Unseals a key's products before a new run: `done` removed first, so that no one starts linking them. The
 * runs' folders stay an hour (another process that read `done` just before may be linking from one: its
 * files must not vanish under it); older ones, and what the runs' records left, are removed.
 */
export async function unseal(dir: string): Promise<void> {
  const now = Date.now();
  await fs.rm(path.join(dir, DONE), { force: true });
  let names: string[];
  try { names = await fs.readdir(dir); } catch { return; }
  for (const name of names) {
    const st = await fs.lstat(path.join(dir, name)).catch(() => undefined);
    if (st && now - st.mtimeMs > OLD_RUN_KEPT_MS) { await fs.rm(path.join(dir, name), { recursive: true, force: true }); }
  }
}

/**
 * The runs of a key that `done` does not name (a run that died, products made again), once an hour old (as
 * `unseal` keeps them): their paths relative to `dir`. The caller holds the key's lock.
 */
export async function oldRuns(dir: string): Promise<string[]> {
  const current = (await unlessMissing(fs.readFile(path.join(dir, DONE), 'utf8')))?.split('\n')[1];
  const now = Date.now();
  const old: string[] = [];
  for (const name of await unlessMissing(fs.readdir(dir)) ?? []) {
    if (name === DONE || name === current) { continue; }
    const st = await unlessMissing(fs.lstat(path.join(dir, name)));
    if (st && now - st.mtimeMs > OLD_RUN_KEPT_MS) { old.push(name); }
  }
  return old;
}

/** The sealed products of the key in `dir`, if a run of it finished. */
export async function readSealed(dir: string, key: string): Promise<SetupProducts | undefined> {
  try {
    const [digest, run] = (await fs.readFile(path.join(dir, DONE), 'utf8')).split('\n');
    if (digest !== key || !run || !/^[0-9a-f-]+$/.test(run)) { return undefined; } // another key's, or an earlier layout's
    const own = runDir(dir, run);
    const list = async (name: string, sep: string, optional = false): Promise<string[]> => {
      const read = fs.readFile(path.join(own, name), 'utf8');
      const text = optional ? await unlessMissing(read) ?? '' : await read; // optional: not written by earlier versions
      return text === '' ? [] : text.split(sep);
    };
    const files = await list('manifest', '\0');
    const stats = await list('stats', '\n');
    const folders = await list('folders', '\0', true);
    const folderStats = await list('folderstats', '\n', true);
    if (stats.length !== files.length || folderStats.length !== folders.length) { return undefined; }
    return {
      key, run, tree: path.join(own, 'tree'), files, links: new Set(await list('links', '\0')), log: await fs.readFile(path.join(own, 'log'), 'utf8'), stats,
      shared: await list('shared', '\0', true), folders, folderStats,
    };
  } catch {
    return undefined;
  }
}

/**
 * The products that are no longer what was sealed (changed, replaced, removed), and the job that was seen
 * changing them when one was; undefined when all are intact.
 */
export async function changedProducts(p: SetupProducts): Promise<ProductChange | undefined> {
  const recorded = await unlessMissing(fs.readFile(path.join(path.dirname(p.tree), CHANGED), 'utf8'));
  if (recorded !== undefined) {
    try {
      const c = JSON.parse(recorded) as ProductChange;
      if (Array.isArray(c.files)) { return c; }
    } catch {
      // written half-way: the files are looked at below
    }
  }
  const files: string[] = [];
  for (let i = 0; i < p.files.length; i++) {
    if (i > 0 && i % CHECK_SLICE === 0) { await new Promise((r) => setImmediate(r)); }
    if (p.stats[i] === '') { continue; } // a symbolic link: each job has its own copy
    if (statLine(path.join(p.tree, p.files[i])) !== p.stats[i]) { files.push(p.files[i]); }
  }
  for (let i = 0; i < p.folders.length; i++) {
    if (i > 0 && i % CHECK_SLICE === 0) { await new Promise((r) => setImmediate(r)); }
    if (statLine(path.join(p.tree, p.folders[i])) !== p.folderStats[i]) { files.push(`${p.folders[i]}/`); }
  }
  return files.length > 0 ? { files } : undefined;
}

/**
 * Looks at the products after a job that used them ended: when it changed some, records it (so that the
 * next job that links them is told which job it was) and returns what changed.
 */
export async function checkAfterJob(p: SetupProducts, job: string, commit: string): Promise<ProductChange | undefined> {
  const found = await changedProducts(p);
  if (!found || found.by) { return undefined; } // intact, or another job's change, recorded already
  const change: ProductChange = { files: found.files, by: { job, commit } };
  const file = path.join(path.dirname(p.tree), CHANGED);
  await fs.writeFile(`${file}.${process.pid}`, JSON.stringify(change));
  await fs.rename(`${file}.${process.pid}`, file);
  return change;
}

/** `a, b, c and 4 more`: the first few paths of a change. */
export function someFiles(files: readonly string[]): string {
  const shown = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${shown} and ${files.length - 3} more` : shown;
}
