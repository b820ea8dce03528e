// Which of a setup's product folders a job's checkout gets as one symbolic link instead of a tree of its own.
// Files can be hard-linked into each checkout, folders cannot: a node_modules of 2,500 folders costs each
// checkout 2,500 folders (10 MiB at 4 KiB each) however its files are shared. An installed package's folder
// (`node_modules/<name>`, `node_modules/@scope/<name>`, at any depth outside another package) holds only
// products, so the checkout may link to the setup's copy of it, with one condition: what the package's code
// finds from there must be what it would find from the checkout. Node resolves a module's real path, so the
// package's own `require`s are looked up from the setup's tree, where every installed package is too, but not
// the checkout's own files: a link to a workspace package (`node_modules/pkg -> ../packages/pkg`) points into
// the checkout, and in the setup's tree to nothing. So a package folder is shared only when
//   * no symbolic link inside it points out of it, and
//   * neither it nor any package it depends on (its `dependencies`, `optionalDependencies` and
//     `peerDependencies`, those of the packages nested in it, and so on through the installed packages)
//     is one that the products hold as a link (a workspace package, a `file:` dependency).
// Everything else (`.bin`, `.package-lock.json`, the workspace links, the packages that depend on a workspace
// package) is linked file by file as before. What a job changes in a shared folder is found by the checks of
// products.ts (the files' stats, and the folders', whose modification time moves when an entry is added).
import fsSync = require('node:fs');
import path = require('node:path');

const NODE_MODULES = 'node_modules';

/** The package folder a product file is in (`node_modules/x`, `a/node_modules/@s/x`), outside any other; undefined when none. */
export function packageFolderOf(file: string): string | undefined {
  const parts = file.split('/');
  const at = parts.indexOf(NODE_MODULES);
  if (at < 0) { return undefined; }
  const name = parts[at + 1];
  if (name === undefined || name.startsWith('.')) { return undefined; }
  const depth = name.startsWith('@') ? at + 3 : at + 2; // the parts of the folder's path
  return parts.length > depth ? parts.slice(0, depth).join('/') : undefined;
}

/** The package name a package folder's path ends with (`x`, `@s/x`). */
function packageName(folder: string): string {
  const parts = folder.split('/');
  return parts[parts.length - 2]!.startsWith('@') ? parts.slice(-2).join('/') : parts[parts.length - 1]!;
}

/** Whether `link` (a path under `tree`) is where a package would be installed: `…/node_modules/x`, `…/node_modules/@s/x`. */
function linkedPackage(link: string): string | undefined {
  const parts = link.split('/');
  if (parts[parts.length - 2] === NODE_MODULES) { return parts[parts.length - 1]; }
  if (parts[parts.length - 3] === NODE_MODULES && parts[parts.length - 2]!.startsWith('@')) { return parts.slice(-2).join('/'); }
  return undefined;
}

/** The names a package.json depends on; undefined when it cannot be read as one. */
function dependencyNames(file: string): string[] | undefined {
  try {
    const json = JSON.parse(fsSync.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const names: string[] = [];
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
      const deps = json[field];
      if (deps && typeof deps === 'object') { names.push(...Object.keys(deps)); }
    }
    return names;
  } catch {
    return undefined;
  }
}

interface Candidate {
  readonly name: string;
  readonly deps: Set<string>;
  ok: boolean;
}

/**
 * The package folders of the products in `tree` (their `files`, sorted or not; `links`: those that are
 * symbolic links) that a checkout may get as one symbolic link each (see the top of this file), sorted.
 */
export function shareableFolders(tree: string, files: readonly string[], links: ReadonlySet<string>): string[] {
  const candidates = new Map<string, Candidate>();
  const linkedNames = new Set<string>();
  for (const f of files) {
    const folder = packageFolderOf(f);
    if (links.has(f)) {
      const name = linkedPackage(f);
      if (name !== undefined && (folder === undefined || !f.startsWith(`${folder}/`))) { linkedNames.add(name); }
    }
    if (folder === undefined) { continue; }
    let c = candidates.get(folder);
    if (!c) {
      c = { name: packageName(folder), deps: new Set(), ok: true };
      candidates.set(folder, c);
    }
    if (!c.ok) { continue; }
    if (links.has(f)) {
      const target = path.resolve(path.dirname(path.join(tree, f)), fsSync.readlinkSync(path.join(tree, f)));
      if (!target.startsWith(path.join(tree, folder) + path.sep)) { c.ok = false; }
      // A link inside the folder to a package is one the packages in it may resolve to.
      const name = linkedPackage(f);
      if (name !== undefined) { linkedNames.add(name); }
    } else if (path.basename(f) === 'package.json') {
      const names = dependencyNames(path.join(tree, f));
      if (names === undefined) { c.ok = false; } else { for (const n of names) { c.deps.add(n); } }
    }
  }
  // Through the installed packages: one that depends on a package that cannot be shared cannot be either.
  const unsafe = new Set(linkedNames);
  for (const c of candidates.values()) { if (!c.ok) { unsafe.add(c.name); } }
  for (let changed = true; changed;) {
    changed = false;
    for (const c of candidates.values()) {
      if (c.ok && [...c.deps].some((d) => unsafe.has(d))) {
        c.ok = false;
        unsafe.add(c.name);
        changed = true;
      }
    }
  }
  return [...candidates].filter(([, c]) => c.ok && !unsafe.has(c.name)).map(([folder]) => folder).sort();
}

/**
 * Whether the real folder `dst` holds nothing but links to the files under `src` at the same paths (what
 * linking the products file by file made, or nothing at all): then it may be replaced by a link to `src`.
 */
export function onlyLinksTo(dst: string, src: string): boolean {
  for (const e of fsSync.readdirSync(dst, { withFileTypes: true })) {
    const d = path.join(dst, e.name);
    const s = path.join(src, e.name);
    if (e.isDirectory()) {
      if (!onlyLinksTo(d, s)) { return false; }
      continue;
    }
    const ds = fsSync.lstatSync(d);
    const ss = fsSync.lstatSync(s, { throwIfNoEntry: false });
    if (!ss) { return false; }
    if (ds.isSymbolicLink()) {
      if (!ss.isSymbolicLink() || fsSync.readlinkSync(d) !== fsSync.readlinkSync(s)) { return false; }
    } else if (ds.ino !== ss.ino || ds.dev !== ss.dev) {
      return false;
    }
  }
  return true;
}

/** Every folder under the shared `folders` of `tree` (each of them included), relative to `tree`. */
export function foldersUnder(tree: string, folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    out.push(rel);
    for (const e of fsSync.readdirSync(path.join(tree, rel), { withFileTypes: true })) {
      if (e.isDirectory()) { walk(`${rel}/${e.name}`); }
    }
  };
  for (const f of folders) { walk(f); }
  return out;
}

/**
 * The symbolic links the previous record of the same key lists and `placed` does not (the folder links of an
 * earlier layout): removed. Hard links stay (a file the job replaced is the job's).
 */
export function dropOldLinks(previous: string, placed: readonly string[], checkout: string): number {
  const now = new Set(placed);
  const real = fsSync.realpathSync(checkout);
  let removed = 0;
  for (const f of previous.split('\n').slice(1)) {
    if (f === '' || now.has(f) || path.isAbsolute(f) || f.split('/').includes('..')) { continue; }
    const p = path.join(checkout, f);
    // Only in the checkout's own folders: one under a folder now linked is the setup's.
    const parent = unlessThrows(() => fsSync.realpathSync(path.dirname(p)));
    if (parent !== path.join(real, path.dirname(f))) { continue; }
    if (fsSync.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) {
      fsSync.unlinkSync(p);
      removed++;
    }
  }
  return removed;
}

function unlessThrows<T>(f: () => T): T | undefined {
  try { return f(); } catch { return undefined; }
}
