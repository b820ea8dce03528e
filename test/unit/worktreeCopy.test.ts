// A build of the working tree builds exactly its key's content: the copy laid into its checkout is what is
// checked (a file saved A → B → A while it was copied is caught), a build refused because the tree moved is
// not a result of the key (nothing saved, so building that content again, or committing it, builds), a job
// gets only the files its key covers, and nothing of the working tree stays in a checkout after the build.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DataKitError } from '../../src/shared/errors';
import { checkoutInto, jobDirName } from '../../src/jobs/run/checkout';
import { verifyCopies } from '../../src/jobs/run/worktreeCopy';
import { RepoJobs, type JobStatus } from '../../src/jobs/repoJobs';
import type { JobKey } from '../../src/jobs/keys/key';
import { SourceRepo } from '../../src/store/source/sourceRepo';
import { scanWorktree } from '../../src/store/source/worktree';
import { git, gitIn, repo, tempRoot } from '../fixtures';

const tmp = tempRoot('wtcopy');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CACHE = path.join(tmp, 'cache');

let n = 0;
const project = (options: { jobs?: object; files: Record<string, string> }): string => repo(path.join(tmp, `r${n++}`), options);

async function withJobs<T>(dir: string, fn: (jobs: RepoJobs) => Promise<T>): Promise<T> {
  const jobs = await RepoJobs.open({ dir, cacheDir: CACHE });
  try { return await fn(jobs); } finally { jobs.dispose(); }
}

async function final(jobs: RepoJobs, key: JobKey): Promise<JobStatus> {
  let s = await jobs.lookup(key);
  while (s.result.kind === 'pending') { await s.result.changed; s = jobs.peek(key) ?? await jobs.lookup(key); }
  return s;
}

async function worktreeKey(jobs: RepoJobs, job: string): Promise<JobKey> {
  const { at } = await jobs.worktreeJobs();
  const key = at?.keys.find((k) => k.job.name === job);
  return key ?? assert.fail(`no working-tree key of ${job}`);
}

/** The entry's branch in the results repository, if anything was saved on it. */
function savedHead(dir: string, jobs: RepoJobs, key: JobKey): string | undefined {
  const out = gitIn(path.join(dir, '.git', 'datakit-ci'), 'for-each-ref', '--format=%(objectname)', jobs.ref(key));
  return out === '' ? undefined : out;
}

describe('the copy of a working tree is what is checked against the key', () => {
  it('never accepts a copy of content other than the key\'s while a writer saves the file B and back to A during the copies', async () => {
    const A = Buffer.alloc(1 << 20, 'a');
    const B = Buffer.alloc(1 << 20, 'b');
    const dir = project({ files: { 'data.bin': 'committed\n' } });
    fs.writeFileSync(path.join(dir, 'data.bin'), A);
    const source = await SourceRepo.open(dir);
    const checkout = path.join(tmp, `co${n++}`);
    const writer = path.join(tmp, `writer${n++}`);
    fs.mkdirSync(writer);
    fs.writeFileSync(path.join(writer, 'A'), A);
    fs.writeFileSync(path.join(writer, 'B'), B);
    try {
      const state = await scanWorktree(source); // the key: data.bin is A
      // A real concurrent writer: puts B in place, then A again, each whole (a link renamed over the file), until killed.
      const script = `const fs = require('fs'), p = require('path'); const [w, f] = process.argv.slice(1); let i = 0;
        process.stdout.write('ready\\n');
        for (;;) { const x = i++ % 2 ? 'A' : 'B'; fs.linkSync(p.join(w, x), p.join(w, 't')); fs.renameSync(p.join(w, 't'), f); }`;
      const child = spawn(process.execPath, ['-e', script, writer, path.join(dir, 'data.bin')], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      let refused = 0;
      try {
        for (let round = 0; round < 24; round++) {
          try {
            await checkoutInto(checkout, source, state.head, { top: dir, state });
          } catch (e) {
            assert.ok(DataKitError.is(e, 'WorktreeChanged'), String(e)); // what a refusal says: the tests below
            refused++;
            continue;
          }
          assert.ok(fs.readFileSync(path.join(checkout, 'data.bin')).equals(A), `round ${round}: a copy that is not the key's content was accepted (${refused} refused before)`);
        }
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    } finally {
      source.dispose();
    }
  });

  it('refuses a checkout whose copy differs from the key even though the working tree holds the key\'s content', async () => {
    const dir = project({ files: { 'a.txt': 'committed\n', 'b.txt': 'b\n' } });
    fs.writeFileSync(path.join(dir, 'a.txt'), 'A\n');
    fs.symlinkSync('b.txt', path.join(dir, 'link'));
    const source = await SourceRepo.open(dir);
    try {
      const state = await scanWorktree(source);
      const checkout = path.join(tmp, `co${n++}`);
      await checkoutInto(checkout, source, state.head, { top: dir, state });
      const copied = ['a.txt', 'link'].map((p) => ({ path: p, ...state.changes.get(p)! }));
      await verifyCopies(checkout, source.gitDir, copied); // the copies are the key's
      fs.writeFileSync(path.join(checkout, 'a.txt'), 'B\n'); // the copy is B; the working tree still A
      fs.rmSync(path.join(checkout, 'link'));
      fs.symlinkSync('elsewhere', path.join(checkout, 'link'));
      const e = await verifyCopies(checkout, source.gitDir, copied).then(() => assert.fail('accepted'), (err: unknown) => err);
      assert.ok(DataKitError.is(e, 'WorktreeChanged'));
      assert.deepEqual(e.data.files, ['link', 'a.txt']);
      assert.equal(e.message, 'The working tree changed while it was copied: link, a.txt; nothing saved, build again');
    } finally {
      source.dispose();
    }
  });
});

describe('a build refused because the working tree moved is not a result of its key', () => {
  it('saves nothing, says so, and builds that content again — as the working tree, and once committed', async () => {
    const dir = project({ jobs: { show: { run: 'cat f.txt' } }, files: { 'f.txt': 'committed\n' } });
    fs.writeFileSync(path.join(dir, 'f.txt'), 'A\n');
    await withJobs(dir, async (jobs) => {
      const key = await worktreeKey(jobs, 'show');
      fs.writeFileSync(path.join(dir, 'f.txt'), 'B\n'); // saved after the key was computed, before the copy
      const refused = await final(jobs, key);
      assert.equal(refused.result.kind, 'failure');
      assert.deepEqual(refused.result.kind === 'failure' && [refused.result.reason, refused.result.message],
        ['interrupted', 'The working tree changed while it was copied: f.txt; nothing saved, build again']);
      assert.equal(refused.output.kind, 'empty');
      assert.equal(savedHead(dir, jobs, key), undefined, 'nothing saved for the key');

      fs.writeFileSync(path.join(dir, 'f.txt'), 'A\n'); // the key's content again
      const again = await final(jobs, key);
      assert.equal(again.result.kind, 'success', 'built, not the refusal replayed');
      assert.ok(again.output.kind === 'saved' && again.output.saved.built);
      assert.match(await jobs.readLog(again.output.kind === 'saved' ? again.output.saved : assert.fail()), /^A$/m);
    });

    const other = project({ jobs: { show: { run: 'cat f.txt' } }, files: { 'f.txt': 'committed\n' } });
    fs.writeFileSync(path.join(other, 'f.txt'), 'A\n');
    await withJobs(other, async (jobs) => {
      const key = await worktreeKey(jobs, 'show');
      fs.writeFileSync(path.join(other, 'f.txt'), 'B\n');
      assert.equal((await final(jobs, key)).result.kind, 'failure');
    });
    fs.writeFileSync(path.join(other, 'f.txt'), 'A\n');
    git(other, 'commit', '-qam', 'A');
    await withJobs(other, async (jobs) => { // another process: the store holds nothing of the refusal
      const at = await jobs.jobsAt(git(other, 'rev-parse', 'HEAD'));
      const committed = at.keys.find((k) => k.job.name === 'show')!;
      const s = await final(jobs, committed);
      assert.equal(s.result.kind, 'success', 'the commit of that content builds');
      assert.ok(s.output.kind === 'saved' && s.output.saved.built);
    });
  });
});

describe('a setup refused because the working tree moved', () => {
  it('is run again when its job is built again, rather than its refusal replayed', async () => {
    const dir = project({ jobs: {}, files: { 'deps.txt': 'committed\n', 'src/a.txt': 'a\n' } });
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({
      setup: { run: 'cp deps.txt product.out', inputs: ['deps.txt'] },
      jobs: { use: { run: 'cat product.out', setup: true, inputs: ['src'] } },
    }));
    git(dir, 'commit', '-qam', 'setup');
    fs.writeFileSync(path.join(dir, 'deps.txt'), 'A\n');
    await withJobs(dir, async (jobs) => {
      const key = await worktreeKey(jobs, 'use');
      fs.writeFileSync(path.join(dir, 'deps.txt'), 'B\n');
      const refused = await final(jobs, key);
      assert.deepEqual(refused.result.kind === 'failure' && [refused.result.reason, refused.result.message],
        ['interrupted', 'The working tree changed while it was copied: deps.txt; nothing saved, build again']);
      fs.writeFileSync(path.join(dir, 'deps.txt'), 'A\n');
      const again = await final(jobs, key);
      assert.equal(again.result.kind, 'success', again.result.kind === 'failure' ? again.result.message : '');
      assert.match(await jobs.readLog(again.output.kind === 'saved' ? again.output.saved : assert.fail()), /^A$/m);
    });
  });
});

describe('what a job\'s checkout gets of the working tree', () => {
  const HUGE = 101 * 1024 * 1024;

  /** A repository whose working tree has src/a.txt edited and a huge untracked big.bin (sparse: cheap to make). */
  function withHugeFile(jobs: object): string {
    const dir = project({ jobs, files: { 'src/a.txt': 'committed\n', '.gitignore': '*.log\n' } });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'edited\n');
    const big = fs.openSync(path.join(dir, 'big.bin'), 'w');
    fs.ftruncateSync(big, HUGE);
    fs.closeSync(big);
    return dir;
  }

  /** Builds every job of the working tree; each must pass. Returns their logs and checkouts by job. */
  async function buildAll(jobs: RepoJobs): Promise<Map<string, { log: string; checkout: string }>> {
    const { at } = await jobs.worktreeJobs();
    const out = new Map<string, { log: string; checkout: string }>();
    for (const key of at!.keys) {
      const s = await final(jobs, key);
      assert.equal(s.result.kind, 'success', `${key.job.name}: ${s.result.kind === 'failure' ? s.result.message : ''}`);
      out.set(key.job.name, { log: await jobs.readLog(s.output.kind === 'saved' ? s.output.saved : assert.fail()), checkout: path.join(jobs.buildRoot, 'work', jobDirName(key.job.name)) });
    }
    return out;
  }

  it('copies only what its key covers: a job whose inputs leave out a huge untracked file does not get it', async () => {
    const dir = withHugeFile({ narrow: { run: 'test ! -e big.bin && cat src/a.txt', inputs: ['src'] } });
    await withJobs(dir, async (jobs) => {
      const { log } = (await buildAll(jobs)).get('narrow')!;
      assert.match(log, /^edited$/m, 'its input\'s change is there');
      assert.doesNotMatch(log, /\] Copied /);
    });
  });

  it('says what a huge copy costs a job without inputs, and leaves no copy of the working tree in its checkout after the build', async () => {
    const dir = withHugeFile({ wide: { run: 'test -e big.bin && cat src/a.txt' } });
    await withJobs(dir, async (jobs) => {
      const { log, checkout } = (await buildAll(jobs)).get('wide')!;
      assert.match(log, /^edited$/m);
      assert.match(log, /\] Copied big\.bin \(101 MiB\) from the working tree into the build directory: a job without inputs keys, and gets, the whole working tree/m);
      // After the build, its checkout is the commit's again: no untracked copy, the edited file restored.
      assert.equal(fs.existsSync(path.join(checkout, 'big.bin')), false, 'big.bin left in the checkout');
      assert.equal(fs.readFileSync(path.join(checkout, 'src', 'a.txt'), 'utf8'), 'committed\n', 'the copy of src/a.txt left');
      assert.equal(git(checkout, 'status', '--porcelain', '--untracked-files=all'), '', 'the checkout is the commit');
    });
  });
});

describe('paths git would read back otherwise', () => {
  it('a working tree with files named "quoted and back\\slash is built, its copy checked', async () => {
    const dir = project({ jobs: { list: { run: 'cat \'"quoted\' && cat \'back\\slash\'' } }, files: { 'a.txt': 'a\n' } });
    // git's --stdin-paths reads a line that begins with " as C-quoted: such a copy could never be checked.
    fs.writeFileSync(path.join(dir, '"quoted'), 'q\n');
    fs.writeFileSync(path.join(dir, 'back\\slash'), 'b\n');
    const jobs = await RepoJobs.open({ dir, cacheDir: CACHE });
    try {
      const { at } = await jobs.worktreeJobs();
      const s = await final(jobs, at!.keys[0]!);
      assert.equal(s.result.kind, 'success', s.result.kind === 'failure' ? s.result.message : '');
      assert.match(await jobs.readLog(s.output.kind === 'saved' ? s.output.saved : assert.fail()), /^q\nb$/m);
    } finally {
      jobs.dispose();
    }
  });
});
