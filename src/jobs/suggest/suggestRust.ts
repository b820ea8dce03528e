// A Cargo package's or workspace's jobs (Cargo.toml at the root): build, test and clippy, keyed on the
// sources, the manifests and the lockfile, with cargo's and rustc's versions in the key. The default problem
// matcher reads rustc's messages. Only reads files: whether clippy is installed is not known, so its job says
// it needs it.
import { shown } from '../config/configChecks';
import { folderNames, isFile, isFolder, readText } from './suggestRead';
import { readToml, stringsOf } from './toml';
import type { SuggestedJob } from './types';
import type { Skipped } from './suggestWorkspaces';

export const RUST_TOOLCHAIN = ['cargo --version', 'rustc --version'];
/** What a package's build reads beside `src`, when it is there. */
const PACKAGE_PARTS = ['src', 'tests', 'benches', 'examples', 'build.rs'];
/** Files at the root that change how cargo builds. */
const CARGO_CONFIG = ['Cargo.lock', 'rust-toolchain', 'rust-toolchain.toml', '.cargo'];
/** A member folder written in a way that can be used as an input and in a command. */
const SAFE_FOLDER = /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;

/** `cargo build`, `cargo test` and `cargo clippy` (over the workspace when Cargo.toml has one). */
export function rustJobs(repoDir: string, names: Set<string>, skipped: Skipped[]): SuggestedJob[] {
  if (!names.has('Cargo.toml')) { return []; }
  const text = readText(repoDir, 'Cargo.toml', skipped);
  if (text === undefined) { return []; }
  const toml = readToml(text);
  if (toml.unread.length > 0) { skipped.push({ file: 'Cargo.toml', reason: `line ${toml.unread.join(', ')} could not be read: the workspace members there may be missing from the inputs` }); }
  const workspace = toml.tables.get('workspace');
  const members = workspace ? memberFolders(repoDir, stringsOf(workspace.get('members')), stringsOf(workspace.get('exclude')), skipped) : [];
  const parts = PACKAGE_PARTS.filter((p) => (p === 'build.rs' ? isFile(repoDir, p) : isFolder(repoDir, p)));
  const inputs = ['Cargo.toml', ...CARGO_CONFIG.filter((f) => names.has(f)), ...parts, ...members];
  const all = workspace ? ' --workspace' : '';
  const job = (c: string, from: string): SuggestedJob => ({ name: `cargo.${c}`, run: `cargo ${c}${all}`, inputs, toolInputs: RUST_TOOLCHAIN, from });
  return [
    job('build', 'Cargo.toml (cargo build)'),
    job('test', 'Cargo.toml (cargo test)'),
    job('clippy', 'Cargo.toml (cargo clippy: needs clippy installed, e.g. rustup component add clippy)'),
  ];
}

/** The workspace's member folders: paths, and `dir/*` globs over the folders holding a Cargo.toml. */
function memberFolders(repoDir: string, members: string[], exclude: string[], skipped: Skipped[]): string[] {
  const out: string[] = [];
  for (const m of members.map((x) => x.replace(/\/+$/, ''))) {
    const glob = /^(.*?)\/?\*$/.exec(m);
    const found = glob ? folderNames(repoDir, glob[1]).map((n) => (glob[1] ? `${glob[1]}/${n}` : n)).filter((d) => isFile(repoDir, `${d}/Cargo.toml`)) : [m];
    for (const d of found) {
      if (exclude.includes(d) || d === '.' || out.includes(d)) { continue; }
      if (!SAFE_FOLDER.test(d) || d.split('/').some((s) => s === '..' || s === '.')) {
        skipped.push({ file: 'Cargo.toml', reason: `workspace member "${shown(d)}" is not a plain folder path (globs other than a final /* are not read): not among the inputs` });
        continue;
      }
      if (!isFolder(repoDir, d)) { skipped.push({ file: 'Cargo.toml', reason: `workspace member "${shown(d)}" is not a folder here: not among the inputs` }); continue; }
      out.push(d);
    }
  }
  return out.sort();
}
