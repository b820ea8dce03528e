// The benchmark's repositories, made by the runner (scripts/host/run-host-tests.mjs, config `bench`) before
// the extension host starts. Plain Node, no vscode: the runner loads this compiled file itself.
//
// `big`: 10 jobs, HEAD's 10 built by the command-line tool (loose objects and refs, as the extension writes
// them), plus OTHER_ENTRIES older saved results (other keys of the same jobs) in one pack with packed refs,
// as after a `git gc` (writing 40,000 loose objects and 10,000 loose refs takes minutes on slow disks).
// `small`: a copy of `big` taken before the other entries were added (the baseline).
// The workspace folder is a subdirectory of `big`, so that `workspaceContains:.git` does not activate the
// extension before the suite starts: the suite's first `activate()` is the real first activation.
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ENV, git, gitWith, repo } from '../../fixtures';

export const OTHER_ENTRIES = 10_000;
/** Lines the `paced` job prints: 50 bursts of 10,000, one every 0.09 s plus their own time (~100,000 lines a second for ~5 s). */
export const PACED_LINES = 500_000;
/** Bytes the `flood` job prints (plus one newline every 100 bytes). */
export const FLOOD_BYTES = 50_000_000;

export const JOBS: Record<string, { run: string; inputs?: string[]; outputs?: string[] }> = {
  build: { run: 'mkdir -p dist && cp src/*.txt dist/ && echo built', inputs: ['src'], outputs: ['dist/**'] },
  test: { run: 'echo "ok 1"; echo "ok 2"', inputs: ['src', 'test'] },
  lint: { run: 'echo "src/a.txt:1: too long" >&2; exit 1', inputs: ['src'] },
  docs: { run: 'echo docs ok', inputs: ['docs'] },
  typecheck: { run: 'echo no type errors', inputs: ['src'] },
  unit: { run: 'echo 12 passed', inputs: ['src', 'test'] },
  integration: { run: 'echo 3 passed' },
  package: { run: 'echo packaged', inputs: ['src', 'docs'] },
  flood: { run: `head -c ${FLOOD_BYTES} /dev/zero | tr '\\0' x | fold -w 100`, inputs: ['src'] },
  paced: { run: `i=0; while [ $i -lt ${PACED_LINES / 10_000} ]; do seq $((i*10000+1)) $((i*10000+10000)); i=$((i+1)); sleep 0.09; done`, inputs: ['test'] },
};

function makeRepo(dir: string): void {
  repo(dir, {
    files: {
      'README.md': '# bench\n',
      'app/README.md': 'The workspace folder of the benchmark.\n',
      'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'test/t.txt': 't\n', 'docs/index.md': '# docs\n',
      '.datakit-ci.json': JSON.stringify({ jobs: JOBS }, null, 2) + '\n',
    },
    commit: 'Initial commit',
  });
}

/**
 * A fast-import stream of `count` entries, as the shell builder saves them (key.json, log, maybe failure),
 * each a root commit; all go through one scratch ref (10,000 ref updates would cost fast-import seconds) and
 * the entry refs are written to packed-refs from the exported marks.
 */
function otherEntries(count: number): { stream: string; refs: string[] } {
  const names = Object.keys(JOBS);
  const chunks: string[] = [];
  const refs: string[] = [];
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const start = Math.floor(Date.now() / 1000) - 90 * 86_400;
  for (let i = 0; i < count; i++) {
    const job = names[i % names.length];
    const digest = createHash('sha256').update(`bench ${i}`).digest('hex');
    const commit = createHash('sha1').update(`commit ${i}`).digest('hex');
    const failed = i % 10 === 2;
    const t = start + i * 600;
    const log = `=== ${job} @ ${commit.slice(0, 7)}\nStarting...\nRunning: ${JOBS[job].run}\nline ${i}\n${failed ? 'Failed: Command exited with code 1' : 'Success'}\n`;
    const keyJson = JSON.stringify({ tool: 'datakit-ci/bench', digest, job: { name: job, ...JOBS[job] }, inputs: { src: digest.slice(0, 40) }, commit }, null, 2) + '\n';
    const msg = `${job} @ ${commit.slice(0, 7)}: ${failed ? 'failed after 3 s: Command exited with code 1' : 'passed in 3 s'}\n\nJob: ${job}\nSource-Commit: ${commit}\nRun-Time-Ms: 3000\n`;
    refs.push(`refs/heads/shell/${job}/${digest.slice(0, 16)}`);
    chunks.push(
      `reset ${SCRATCH}\ncommit ${SCRATCH}\nmark :${i + 1}\n`,
      `author DataKit CI <datakit-ci@localhost> ${t} +0000\n`,
      `committer DataKit CI <datakit-ci@localhost> ${t + 3} +0000\n`,
      data(msg),
      'M 100644 inline key.json\n', data(keyJson),
      'M 100644 inline log\n', data(log),
      ...(failed ? ['M 100644 inline failure\n', data('Command exited with code 1')] : []),
      '\n',
    );
  }
  return { stream: chunks.join(''), refs };
}

const SCRATCH = 'refs/bench/scratch';

/** Adds the other entries to a results repository: their objects in one pack, their refs in packed-refs. */
function addOtherEntries(results: string, count: number): void {
  const { stream, refs } = otherEntries(count);
  const marks = path.join(results, 'bench-marks');
  gitWith({ cwd: results, input: stream }, 'fast-import', '--quiet', `--export-marks=${marks}`);
  const byMark = new Map<number, string>();
  for (const line of fs.readFileSync(marks, 'utf8').split('\n')) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(line);
    if (m) { byMark.set(Number(m[1]), m[2]); }
  }
  fs.rmSync(marks);
  git(results, 'update-ref', '-d', SCRATCH);
  const lines = refs.map((ref, i) => `${byMark.get(i + 1)} ${ref}`).sort((a, b) => (a.slice(41) < b.slice(41) ? -1 : 1));
  const packed = path.join(results, 'packed-refs');
  const before = fs.existsSync(packed) ? fs.readFileSync(packed, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')) : [];
  if (before.length > 0) { throw new Error('the fixture expects no packed refs yet'); }
  fs.writeFileSync(packed, `# pack-refs with: peeled fully-peeled sorted \n${lines.join('\n')}\n`);
}

export interface BenchFixture {
  /** The workspace folder: a subdirectory of the big repository. */
  readonly folder: string;
  readonly big: string;
  readonly small: string;
  /** A branch of BRANCH_COMMITS commits over `main`, every commit's 10 jobs built. */
  readonly branch: string;
}

export const BRANCH_COMMITS = 50;

/** 10 jobs on 10 folders; a branch of 50 commits, each changing one folder; every commit built with `build --range`. */
function makeBranchRepo(dir: string, cli: string, cacheDir: string): void {
  const jobs = Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`job${j}`, { run: `echo job${j}`, inputs: [`src/d${j}`] }]));
  const folders = Object.fromEntries(Array.from({ length: 10 }, (_, d) => [`src/d${d}/f.txt`, `${d}\n`]));
  repo(dir, { files: { ...folders, '.datakit-ci.json': JSON.stringify({ jobs }, null, 2) + '\n' }, commit: 'Base' });
  git(dir, 'checkout', '-q', '-b', 'feature');
  for (let i = 0; i < BRANCH_COMMITS; i++) {
    fs.appendFileSync(path.join(dir, 'src', `d${i % 10}`, 'f.txt'), `commit ${i}\n`);
    git(dir, 'commit', '-q', '-am', `Commit ${i}`);
  }
  execFileSync(process.execPath, [cli, 'build', '--range', 'main..feature', '--yes'], { cwd: dir, env: { ...ENV, DATAKIT_CI_CACHE_DIR: cacheDir }, stdio: 'pipe' });
}

/** Makes both repositories under `root`; `cli` is the built command-line tool (dist/cli.js). */
export function makeBenchFixture(root: string, cli: string, cacheDir: string): BenchFixture {
  const big = path.join(root, 'bench');
  const small = path.join(root, 'baseline');
  makeRepo(big);
  try {
    execFileSync(process.execPath, [cli, 'build'], { cwd: big, env: { ...ENV, DATAKIT_CI_CACHE_DIR: cacheDir }, stdio: 'pipe' });
  } catch (e) {
    if ((e as { status?: number }).status !== 1) { throw e; } // 1: `lint` failed, as it should
  }
  fs.cpSync(big, small, { recursive: true });
  addOtherEntries(path.join(big, '.git', 'datakit-ci'), OTHER_ENTRIES);
  const branch = path.join(root, 'branch');
  makeBranchRepo(branch, cli, cacheDir);
  return { folder: path.join(big, 'app'), big, small, branch };
}
