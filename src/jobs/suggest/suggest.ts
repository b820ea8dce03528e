// Zero configuration: the jobs a repository without .datakit-ci.json probably wants, found in its files —
// the build, typecheck, check, lint and test scripts of its package.json and of each workspace package (with
// the built-in problem matcher of a script that runs eslint or tsc), a setup that installs the dependencies
// once by the lockfile, and a Makefile's test and check targets. Only reads files (nothing runs); what cannot
// be read or used is skipped with the reason.
import fs = require('node:fs');
import path = require('node:path');
import { parse, type ParseError } from 'jsonc-parser';
import { DataKitError } from '../../shared/errors';
import { jobNameProblem, pathProblem, tooDeep } from '../config/configChecks';
import { positions, syntaxMessage } from '../config/configErrors';
import { addEcosystems } from './suggestEcosystems';
import { readSuggestFile } from './suggestFiles';
import { binPackages, buildOutputs, neededBuilds, scriptFiles, withoutCycles, workspaceBins } from './suggestGraph';
import { makeJobs } from './suggestMake';
import { scriptMatcher } from './suggestMatchers';
import { NO_LOCKFILE, suggestionText } from './suggestText';
import { pnpmPackages, resolveWorkspaces, type Skipped, type WorkspacePatterns } from './suggestWorkspaces';
import type { SuggestedJob, SuggestedSetup, Suggestions } from './types';

export { makeTargets, MAKE_TARGETS } from './suggestMake';
export type { Skipped } from './suggestWorkspaces';
export type { SuggestedJob, SuggestedSetup, Suggestions } from './types';

/** The scripts suggested as jobs, in this order. */
export const SCRIPTS = ['build', 'typecheck', 'check', 'lint', 'test'] as const;

type Manager = 'npm' | 'yarn' | 'pnpm';
/** Lockfiles, in the order one is chosen when several are there and nothing says which manager. */
const LOCKFILES: ReadonlyArray<readonly [string, Manager]> = [
  ['package-lock.json', 'npm'], ['npm-shrinkwrap.json', 'npm'], ['yarn.lock', 'yarn'], ['pnpm-lock.yaml', 'pnpm'],
];
/** Files at the root that change what an install does. */
const INSTALL_CONFIG = ['.npmrc', '.yarnrc', '.yarnrc.yml', '.pnpmfile.cjs'];
/**
 * Files at the root that tools in a workspace package commonly read from above it (a tsconfig it extends,
 * a shared lint or test configuration): part of each workspace job's inputs, so that changing them is not
 * answered with a stale cached result.
 */
const SHARED_CONFIG = /^(tsconfig(\..+)?\.json|\.eslintrc(\..+)?|eslint\.config\.[cm]?[jt]s|\.prettierrc(\..+)?|prettier\.config\.[cm]?[jt]s|\.babelrc(\..+)?|babel\.config\.[cm]?[jt]s|jest\.config\.[cm]?[jt]s|vitest\.(config|workspace)\.[cm]?[jt]s|biome\.jsonc?|\.browserslistrc|\.swcrc)$/;
/** How deep a package.json may nest: real ones nest a few levels. */
export const MAX_PACKAGE_DEPTH = 64;
/** What a folder or package name in a command may hold without quoting, for sh and cmd.exe alike. */
/**
 * The runtime's version is part of the setup's key: upgrading Node installs the dependencies again (native
 * modules are built for one Node) and builds every job on the setup again.
 */
const NODE_TOOLCHAIN = ['node --version'];

const SAFE_WORD = /^[A-Za-z0-9@._/+-]+$/;

interface Package {
  /** Relative, with `/`; '' for the root. */
  readonly dir: string;
  readonly file: string;
  readonly name?: string;
  readonly scripts: Record<string, unknown>;
  readonly dependsOn: string[];
  readonly json: Record<string, unknown>;
}

/** The jobs suggested for the repository whose work tree is `repoDir`. */
export async function suggestJobs(repoDir: string): Promise<Suggestions> {
  const skipped: Skipped[] = [];
  const names = new Set(listRoot(repoDir));
  const root = names.has('package.json') ? readPackage(repoDir, '', skipped) : undefined;
  const jobs: SuggestedJob[] = [];
  let setup: SuggestedSetup | undefined;
  if (root) {
    const ws = workspacePatterns(repoDir, root, names, skipped);
    const resolved = ws ? resolveWorkspaces(repoDir, ws) : { folders: [], skipped: [], used: [] };
    skipped.push(...resolved.skipped);
    const packages = resolved.folders.map((d) => readPackage(repoDir, d, skipped)).filter((p): p is Package => p !== undefined);
    const install = chooseInstall(root, names, skipped);
    const setupInputs = (lockfile?: string): string[] => ['package.json', ...(lockfile ? [lockfile] : []), ...(ws?.file === 'pnpm-workspace.yaml' ? [ws.file] : []),
      ...resolved.used.map((p) => `${p}/package.json`), ...INSTALL_CONFIG.filter((f) => names.has(f))].filter((p) => pathProblem(p.replace(/^!/, '')) === undefined);
    if (install) {
      setup = { run: install.run, inputs: setupInputs(install.lockfile), toolInputs: NODE_TOOLCHAIN, from: install.lockfile };
    } else if (!LOCKFILES.some(([f]) => names.has(f)) && (hasDependencies(root) || packages.some(hasDependencies))) {
      // Without a lockfile the jobs would run without their dependencies: install by the package.json files.
      const manager = declaredManager(root, names) ?? 'npm';
      const run = manager === 'npm' ? 'npm install --no-audit --no-fund' : `${manager} install`;
      setup = { run, inputs: setupInputs(), toolInputs: NODE_TOOLCHAIN, from: NO_LOCKFILE };
      skipped.push({ file: 'package.json', reason: `no lockfile (${LOCKFILES.map(([f]) => f).join(', ')}): the setup runs \`${run}\`, installed again only when a package.json changes, so the versions it got may differ from a fresh install; commit a lockfile for a reproducible one` });
    }
    const manager = install?.manager ?? declaredManager(root, names) ?? 'npm';
    jobs.push(...usableScripts(root, skipped).map((s) => withMatcher({ name: s, run: `${manager} run ${s}`, from: `package.json script "${s}"` }, root.scripts[s])));
    const shared = [...(install ? [install.lockfile] : []), ...[...names].filter((f) => SHARED_CONFIG.test(f)).sort()];
    jobs.push(...workspaceJobs(repoDir, packages, manager, shared, skipped));
  }
  ({ setup } = addEcosystems(repoDir, names, jobs, setup, skipped));
  jobs.push(...makeJobs(repoDir, names, new Set(jobs.map((j) => j.name)), skipped));
  return { jobs, ...(setup ? { setup } : {}), skipped, text: suggestionText(jobs, setup) };
}

function listRoot(repoDir: string): string[] {
  try {
    return fs.readdirSync(repoDir);
  } catch (e) {
    throw new DataKitError('NotFound', `Cannot list ${repoDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A package.json as an object, or undefined (skipped with the reason when it is there but unusable). */
function readPackage(repoDir: string, dir: string, skipped: Skipped[]): Package | undefined {
  const file = dir === '' ? 'package.json' : `${dir}/package.json`;
  const text = readSuggestFile(repoDir, file, skipped)?.replace(/^\uFEFF/, '');
  if (text === undefined) { return undefined; }
  // jsonc-parser, which finds where a syntax error is, recurses: a file nested thousands deep is refused first.
  const deep = tooDeep(text, MAX_PACKAGE_DEPTH);
  if (deep !== undefined) {
    const { line, column } = positions(text)(deep);
    skipped.push({ file, reason: `is nested deeper than ${MAX_PACKAGE_DEPTH} levels (at line ${line}, column ${column}): not read` });
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    skipped.push({ file, reason: `is not valid JSON: ${jsonProblem(text)}` });
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    skipped.push({ file, reason: 'is not a JSON object' });
    return undefined;
  }
  const o = json as Record<string, unknown>;
  const scripts = typeof o.scripts === 'object' && o.scripts !== null ? o.scripts as Record<string, unknown> : {};
  const dependsOn = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']
    .flatMap((k) => (typeof o[k] === 'object' && o[k] !== null ? Object.keys(o[k] as object) : []));
  return { dir, file, ...(typeof o.name === 'string' ? { name: o.name } : {}), scripts, dependsOn, json: o };
}

/** The first syntax error, as a sentence with its line and column. */
function jsonProblem(text: string): string {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const e = errors[0];
  if (!e) { return 'JSON.parse refuses it'; }
  const { line, column } = positions(text)(e.offset);
  return `${syntaxMessage(e)} at line ${line}, column ${column}`;
}

function hasDependencies(p: Package): boolean {
  return p.dependsOn.length > 0;
}

/** pnpm-workspace.yaml's `packages:` when the file is there (pnpm ignores package.json's), else `workspaces`. */
function workspacePatterns(repoDir: string, root: Package, names: Set<string>, skipped: Skipped[]): WorkspacePatterns | undefined {
  if (names.has('pnpm-workspace.yaml')) {
    const file = 'pnpm-workspace.yaml';
    const text = readSuggestFile(repoDir, file, skipped);
    if (text === undefined) { return undefined; }
    const patterns = pnpmPackages(text);
    if (!patterns) { skipped.push({ file, reason: 'has no "packages:" list of quoted or plain globs that could be read' }); }
    return patterns && { file, patterns };
  }
  const w = root.json.workspaces;
  if (w === undefined) { return undefined; }
  const list = Array.isArray(w) ? w : typeof w === 'object' && w !== null && Array.isArray((w as { packages?: unknown }).packages) ? (w as { packages: unknown[] }).packages : undefined;
  if (!list) {
    skipped.push({ file: 'package.json', reason: '"workspaces" is neither a list of globs nor { "packages": [...] }' });
    return undefined;
  }
  const patterns = list.filter((p): p is string => typeof p === 'string');
  if (patterns.length < list.length) { skipped.push({ file: 'package.json', reason: '"workspaces" holds entries that are not strings' }); }
  return { file: 'package.json', patterns };
}

/** The manager `packageManager` names (corepack's field), or pnpm for a pnpm workspace. */
function declaredManager(root: Package, names: Set<string>): Manager | undefined {
  const m = typeof root.json.packageManager === 'string' ? /^(npm|yarn|pnpm)@/.exec(root.json.packageManager) : null;
  return (m?.[1] as Manager | undefined) ?? (names.has('pnpm-workspace.yaml') ? 'pnpm' : undefined);
}

/** How to install the dependencies exactly as the lockfile says, or undefined without a lockfile to use. */
function chooseInstall(root: Package, names: Set<string>, skipped: Skipped[]): { run: string; lockfile: string; manager: Manager } | undefined {
  const present = LOCKFILES.filter(([f]) => names.has(f));
  const declared = declaredManager(root, names);
  const chosen = declared ? present.find(([, m]) => m === declared) : present[0];
  if (declared && !chosen && present.length > 0) {
    skipped.push({ file: 'package.json', reason: `"packageManager" names ${declared}, whose lockfile is not there (found ${present.map(([f]) => f).join(', ')}): no setup is suggested` });
  }
  for (const [f, m] of present) {
    if (chosen && f !== chosen[0]) { skipped.push({ file: f, reason: `not used: the setup installs with ${chosen[1]} from ${chosen[0]}${m === chosen[1] ? '' : ` (${m} would read this one)`}` }); }
  }
  if (!chosen) { return undefined; }
  const [lockfile, manager] = chosen;
  const version = typeof root.json.packageManager === 'string' ? /^yarn@(\d+)/.exec(root.json.packageManager)?.[1] : undefined;
  const berry = names.has('.yarnrc.yml') || (version !== undefined && Number(version) >= 2);
  const run = manager === 'npm' ? 'npm ci' : manager === 'pnpm' ? 'pnpm install --frozen-lockfile' : berry ? 'yarn install --immutable' : 'yarn install --frozen-lockfile';
  return { run, lockfile, manager };
}

/** The package's suggested scripts that hold a command (npm init's failing test placeholder is not one). */
function usableScripts(p: Package, skipped: Skipped[]): string[] {
  return SCRIPTS.filter((s) => {
    const text = p.scripts[s];
    if (typeof text !== 'string') { return false; }
    if (text.trim() === '') {
      skipped.push({ file: p.file, reason: `script "${s}" is empty` });
      return false;
    }
    if (s === 'test' && /Error: no test specified/.test(text)) {
      skipped.push({ file: p.file, reason: 'script "test" is the placeholder npm init writes, which always fails' });
      return false;
    }
    return true;
  });
}

/** The job, with the built-in problem matcher of what its script runs (eslint, tsc), when there is one. */
function withMatcher(job: SuggestedJob, script: unknown): SuggestedJob {
  const problemMatcher = typeof script === 'string' ? scriptMatcher(script) : undefined;
  return problemMatcher === undefined ? job : { ...job, problemMatcher };
}

/** A name part from a folder: lower case, `-` for what a job name cannot hold. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[._-]+|[._-]+$/g, '') || 'package';
}

/**
 * Each workspace package's scripts, named `<folder>.<script>` (the folder's path when two share a last
 * part), run through the package manager from the root, with the package's folder, the folders of the
 * workspace packages it depends on (at any depth), the lockfile, the shared configuration and the files of
 * the repository its script runs by path or by the name of a workspace package's command (with that
 * package's folder and those it depends on) as inputs. Each needs the builds of the workspace packages it
 * depends on and of those whose commands it runs, a test its own package's build too; a build's outputs are
 * where its settings say it writes.
 */
function workspaceJobs(repoDir: string, packages: Package[], manager: Manager, shared: string[], skipped: Skipped[]): SuggestedJob[] {
  const byName = new Map(packages.filter((p) => p.name !== undefined).map((p) => [p.name!, p]));
  const baseCount = new Map<string, number>();
  for (const p of packages) { baseCount.set(slug(path.posix.basename(p.dir)), (baseCount.get(slug(path.posix.basename(p.dir))) ?? 0) + 1); }
  const taken = new Set<string>();
  const bins = workspaceBins(packages);
  const made: Made[] = [];
  for (const p of packages) {
    if (!SAFE_WORD.test(p.dir)) {
      if (usableScripts(p, []).length > 0) { skipped.push({ file: p.file, reason: `its folder's name holds characters a shell would need quoted` }); }
      continue;
    }
    if (manager === 'yarn' && !(p.name !== undefined && SAFE_WORD.test(p.name))) {
      if (usableScripts(p, []).length > 0) { skipped.push({ file: p.file, reason: p.name === undefined ? 'has no "name", which `yarn workspace` needs' : 'its "name" holds characters a shell would need quoted' }); }
      continue;
    }
    const base = slug(path.posix.basename(p.dir));
    let part = baseCount.get(base)! > 1 ? slug(p.dir.replace(/\//g, '-')) : base;
    const inputs = [p.dir, ...dependencyFolders(p, byName), ...shared];
    const scripts = usableScripts(p, skipped);
    const longest = Math.max(0, ...scripts.map((s) => s.length));
    part = part.slice(0, 63 - longest).replace(/[._-]+$/, '') || 'package';
    for (let n = 2; scripts.some((s) => taken.has(`${part}.${s}`)); n++) { part = `${part.replace(/-\d+$/, '')}-${n}`; }
    for (const s of scripts) {
      const name = `${part}.${s}`;
      const problem = jobNameProblem(name);
      if (problem) {
        skipped.push({ file: p.file, reason: `script "${s}": no valid job name could be made (${name}: ${problem})` });
        continue;
      }
      taken.add(name);
      const run = manager === 'npm' ? `npm run ${s} -w ${p.dir}` : manager === 'pnpm' ? `pnpm --dir ${p.dir} run ${s}` : `yarn workspace ${p.name} run ${s}`;
      const uses = binPackages(String(p.scripts[s]), bins, p);
      const tools = [...scriptFiles(repoDir, p, String(p.scripts[s])), ...uses.flatMap((q) => [q.dir, ...dependencyFolders(q, byName)])];
      made.push({ job: withMatcher({ name, run, inputs: [...new Set([...inputs, ...tools])], from: `${p.file} script "${s}"` }, p.scripts[s]), p, script: s, uses });
    }
  }
  return withGraph(repoDir, made, byName, skipped);
}

/** A suggested job of a workspace package, with the other packages whose commands its script runs. */
interface Made {
  job: SuggestedJob;
  p: Package;
  script: string;
  uses: Package[];
}

/** The jobs with their `needs` (the workspace's builds, without cycles) and their builds' `outputs`. */
function withGraph(repoDir: string, made: readonly Made[], byName: ReadonlyMap<string, Package>, skipped: Skipped[]): SuggestedJob[] {
  const buildOf = new Map(made.filter((m) => m.script === 'build').map((m) => [m.p, m.job.name]));
  const ownBuild = (m: Made): string[] => (m.script === 'test' && buildOf.has(m.p) ? [buildOf.get(m.p)!] : []);
  const toolBuilds = (m: Made): string[] => m.uses.map((q) => buildOf.get(q)).filter((b): b is string => b !== undefined && b !== m.job.name);
  const needs = new Map(made.map((m) => [m.job.name, [...new Set([...neededBuilds(m.p, byName, buildOf), ...toolBuilds(m), ...ownBuild(m)])]]));
  const fileOf = new Map(made.map((m) => [m.job.name, m.p.file]));
  withoutCycles(needs, skipped, (job) => fileOf.get(job) ?? 'package.json');
  const needed = new Set([...needs.values()].flat());
  return made.map(({ job, p, script }) => {
    const outputs = script === 'build' ? buildOutputs(repoDir, p, skipped) : [];
    if (script === 'build' && outputs.length === 0 && needed.has(job.name)) {
      skipped.push({ file: p.file, reason: `${job.name}: no tsconfig.json "outDir", "main", "exports" or "files" says where the build writes, so the jobs that need it get none of its files (add "outputs")` });
    }
    const n = needs.get(job.name) ?? [];
    return { ...job, ...(outputs.length > 0 ? { outputs } : {}), ...(n.length > 0 ? { needs: n } : {}) };
  });
}

/** The folders of the workspace packages `p` depends on, directly or through others, sorted. */
function dependencyFolders(p: Package, byName: Map<string, Package>): string[] {
  const seen = new Set<Package>([p]);
  const todo = [p];
  while (todo.length > 0) {
    for (const d of todo.pop()!.dependsOn) {
      const q = byName.get(d);
      if (q && !seen.has(q)) { seen.add(q); todo.push(q); }
    }
  }
  seen.delete(p);
  return [...seen].map((q) => q.dir).sort();
}
