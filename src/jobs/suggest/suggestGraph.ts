// What makes a workspace's suggested jobs build as suggested: a package's jobs need the builds of the workspace
// packages it depends on (turbo's `^build`), its tests its own build; a build's outputs are where the package's
// own settings say its built files go (so that the jobs that need it get them); and a file outside the package
// that a script runs by its path (a build tool of the repository's own) is an input of the job.
import fs = require('node:fs');
import path = require('node:path');
import { parse } from 'jsonc-parser';
import { pathProblem, tooDeep } from '../config/configChecks';
import { readSuggestFile } from './suggestFiles';
import type { Skipped } from './suggestWorkspaces';

/** What this file needs of a package. */
export interface GraphPackage {
  readonly dir: string;
  readonly file: string;
  readonly name?: string;
  readonly dependsOn: string[];
  readonly json: Record<string, unknown>;
}

/**
 * The build jobs a package's jobs need: those of the workspace packages it depends on, looking through a
 * package that has no build to the packages it depends on.
 */
export function neededBuilds<P extends GraphPackage>(p: P, byName: ReadonlyMap<string, P>, buildOf: ReadonlyMap<P, string>): string[] {
  const out = new Set<string>();
  const seen = new Set<P>([p]);
  const visit = (q: P): void => {
    for (const d of q.dependsOn) {
      const dep = byName.get(d);
      if (!dep || seen.has(dep)) { continue; }
      seen.add(dep);
      const build = buildOf.get(dep);
      if (build !== undefined) { out.add(build); } else { visit(dep); }
    }
  };
  visit(p);
  return [...out].sort();
}

/**
 * `needs` without cycles: packages that depend on each other (a cycle of workspace dependencies) cannot each
 * be built first; the needs among them are dropped and said.
 */
export function withoutCycles(needs: Map<string, string[]>, skipped: Skipped[], file: (job: string) => string): void {
  for (const cycle of stronglyConnected(needs).filter((c) => c.length > 1)) {
    const members = new Set(cycle);
    for (const job of cycle) { needs.set(job, needs.get(job)!.filter((n) => !members.has(n))); }
    skipped.push({ file: file(cycle[0]!), reason: `the packages of ${cycle.sort().join(', ')} depend on each other: these builds do not need one another (add "needs" in the order they build)` });
  }
}

/** Tarjan's strongly connected components of the graph `edges` (each node's successors). */
function stronglyConnected(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) { continue; }
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      out.push(component);
    }
  };
  for (const v of edges.keys()) { if (!index.has(v)) { connect(v); } }
  return out;
}

/** How deep a tsconfig.json may nest: real ones nest a few levels. */
const MAX_TSCONFIG_DEPTH = 64;

/** Folders that hold sources, never a build's output. */
const NOT_OUTPUT = new Set(['', '.', '..', 'src', 'source', 'test', 'tests', 'node_modules']);
/** What `files` names that is a build's output by its name. */
const OUTPUT_NAMES = new Set(['dist', 'build', 'lib', 'out', 'es', 'esm', 'cjs', 'types']);

/** `./dist/index.js` → `dist`; undefined when the path has no folder or the folder holds sources. */
function topFolder(p: string): string | undefined {
  const parts = p.replace(/^(\.\/)+/, '').split('/');
  if (parts.length < 2 || NOT_OUTPUT.has(parts[0]!) || parts[0]!.includes('*')) { return undefined; }
  return parts[0];
}

/** `./index.js` → `index.js`: a file at the package's root (not its package.json); undefined otherwise. */
function rootFile(p: string): string | undefined {
  const rel = p.replace(/^(\.\/)+/, '');
  return rel !== '' && !rel.includes('/') && !rel.includes('*') && rel !== 'package.json' && !NOT_OUTPUT.has(rel) ? rel : undefined;
}

/** Every string in a package.json field (exports' nested conditions included). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') { return [v]; }
  if (Array.isArray(v)) { return v.flatMap(strings); }
  if (typeof v === 'object' && v !== null) { return Object.values(v).flatMap(strings); }
  return [];
}

/**
 * Where a package's build writes, as its settings say: tsconfig.json's `outDir`, else the folders and the
 * files at the package's root that `main`, `module`, `bin` and `exports` name (`types` too, for folders), and
 * the output folders that `files` names (dist, build, lib…): micromark's packages build `index.js` and `lib/`
 * from `dev/`, and the packages that need them import the built `index.js`. Relative to the repository, a
 * folder ending in `/` (it and all in it); empty when nothing says.
 */
export function buildOutputs(repoDir: string, p: GraphPackage, skipped: Skipped[]): string[] {
  const inPackage = (rel0: string, folder: boolean): string[] => {
    const rel = p.dir === '' ? rel0 : `${p.dir}/${rel0}`;
    return pathProblem(rel) === undefined ? [folder ? `${rel}/` : rel] : [];
  };
  const tsconfig = p.dir === '' ? 'tsconfig.json' : `${p.dir}/tsconfig.json`;
  if (fs.existsSync(path.join(repoDir, tsconfig))) {
    const text = readSuggestFile(repoDir, tsconfig, skipped);
    // jsonc-parser recurses: a tsconfig.json nested thousands deep is skipped, said, never parsed.
    const deep = text === undefined ? undefined : tooDeep(text, MAX_TSCONFIG_DEPTH);
    if (deep !== undefined) { skipped.push({ file: tsconfig, reason: `is nested deeper than ${MAX_TSCONFIG_DEPTH} levels: not read` }); }
    const outDir = text === undefined || deep !== undefined ? undefined : (parse(text) as { compilerOptions?: { outDir?: unknown } } | undefined)?.compilerOptions?.outDir;
    const folder = typeof outDir === 'string' ? outDir.replace(/^(\.\/)+/, '').replace(/\/+$/, '') : undefined;
    if (folder && !folder.split('/').some((s) => NOT_OUTPUT.has(s))) { return inPackage(folder, true); }
  }
  const code = ['main', 'module', 'bin', 'exports'].flatMap((f) => strings(p.json[f]));
  const fields = [...code, ...['types', 'typings'].flatMap((f) => strings(p.json[f]))];
  const files = strings(p.json.files).map((f) => f.replace(/^(\.\/)+/, '').replace(/\/+$/, '')).filter((f) => OUTPUT_NAMES.has(f));
  const folders = new Set([...fields.map(topFolder).filter((f): f is string => f !== undefined), ...files]);
  const rootFiles = new Set(code.map(rootFile).filter((f): f is string => f !== undefined && !folders.has(f)));
  return [...[...folders].sort().flatMap((f) => inPackage(f, true)), ...[...rootFiles].sort().flatMap((f) => inPackage(f, false))];
}

/**
 * Files outside the package that its script runs by their path (`node ../../scripts/build.mjs`, `sh
 * tools/gen.sh` from the root): the repository's own build tools, which every build that runs them depends on.
 */
export function scriptFiles(repoDir: string, p: GraphPackage, script: string): string[] {
  const out = new Set<string>();
  for (const token of script.split(/[\s;&|()'"=]+/)) {
    if (!/^(\.{1,2}\/)*[\w@.+-]+(\/[\w@.+-]+)*$/.test(token) || !token.includes('/') || /^[\w@+-]+\/?$/.test(token)) { continue; }
    const rel = path.posix.normalize(path.posix.join(p.dir, token));
    if (rel.startsWith('../') || rel === '..' || (p.dir !== '' && (rel === p.dir || rel.startsWith(`${p.dir}/`)))) { continue; }
    if (pathProblem(rel) !== undefined || rel.split('/').includes('node_modules')) { continue; }
    let st: fs.Stats;
    try { st = fs.lstatSync(path.join(repoDir, rel)); } catch { continue; }
    if (st.isFile() || st.isDirectory()) { out.add(rel); }
  }
  return [...out].sort();
}

/**
 * The commands the workspace's packages install (package.json `bin`: a string is a command named after the
 * package, without its scope; an object names each), by name: a script that runs one runs that package's
 * files, as npm links them into node_modules/.bin.
 */
export function workspaceBins<P extends GraphPackage>(packages: readonly P[]): Map<string, P> {
  const out = new Map<string, P>();
  for (const p of packages) {
    const bin = p.json.bin;
    const names = typeof bin === 'string' ? (p.name === undefined ? [] : [p.name.replace(/^@[^/]*\//, '')])
      : typeof bin === 'object' && bin !== null && !Array.isArray(bin) ? Object.keys(bin) : [];
    for (const name of names) { if (name !== '' && !out.has(name)) { out.set(name, p); } }
  }
  return out;
}

/**
 * The other workspace packages whose commands (see workspaceBins) the script runs, e.g. a build tool of the
 * repository's own that every package's `build` runs by name (`"build": "micromark-build"`).
 */
export function binPackages<P extends GraphPackage>(script: string, bins: ReadonlyMap<string, P>, self: P): P[] {
  const out = new Set<P>();
  for (const token of script.split(/[\s;&|()'"`]+/)) {
    const q = bins.get(token.replace(/^(?:\.\/)?node_modules\/\.bin\//, ''));
    if (q !== undefined && q !== self) { out.add(q); }
  }
  return [...out];
}
