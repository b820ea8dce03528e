// The top-level setup (e.g. `npm ci`): run once per distinct key of its own inputs, in a checkout of the
// commit, and kept in `<build root>/deps/<key>/`. What it creates that git does not track (node_modules at
// any depth…) is its product: made read-only there and hard-linked into each job's checkout before the job
// starts, which takes no disk space for the files and well under a second for tens of thousands of them.
//
//   deps/<key>/tree/       the products (the checkout's tracked files and .git are removed once it is done)
//   deps/<key>/manifest    the products' paths, NUL-separated
//   deps/<key>/log         the setup's log, shown as a `=== setup` section of every job that uses it
//   deps/<key>/done        written last: the products are complete
import { randomUUID } from 'node:crypto';
import fsSync = require('node:fs');
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { BuildFailure } from '../engine/builder';
import { LiveLog } from '../engine/liveLog';
import { runGit } from '../store/git';
import type { SourceRepo } from '../store/sourceRepo';
import { checkoutInto } from './checkout';
import { jobEnvironment, RUN_VARIABLE } from './environment';
import type { SetupKey } from './key';
import { acquireLock, readLockHolder } from './lockFile';
import { runJobProcess } from './process';

export interface SetupProducts {
  readonly key: string;
  /** Where the products are (a folder laid out as the checkout). */
  readonly tree: string;
  /** Their paths, relative to `tree` and to a job's checkout. */
  readonly files: readonly string[];
  readonly log: string;
}

/** The folder of one setup key's products: the key's first 16 hex digits. */
export function setupDirName(key: SetupKey): string {
  return key.digest.slice(0, 16);
}

export class Setups {
  /** One run per key in this process; a failure is kept for this process only (the next build tries again). */
  private readonly running = new Map<string, Promise<SetupProducts>>();

  constructor(private readonly root: string, private readonly repo: () => Promise<SourceRepo>) {}

  /**
   * The products of the setup, run if no process has yet (waiting, with a reason, for one that is running
   * it). Its output streams into `log` under `=== setup`; its failure fails the job with a clear message.
   */
  async ensure(key: SetupKey, commit: string, log: LiveLog, signal: AbortSignal): Promise<SetupProducts> {
    log.heading(`setup: ${key.setup.run}`);
    const dir = path.join(this.root, 'deps', setupDirName(key));
    const done = await readDone(dir, key);
    if (done) {
      log.write(done.log);
      log.log(`Setup ${key.digest.slice(0, 12)} reused (${done.files.length} files)`);
      return done;
    }
    let p = this.running.get(key.digest);
    if (!p) {
      const setupLog = new LiveLog(`setup/${key.digest}`, 'setup');
      p = log.withPendingReason(`Running the setup (${key.setup.run})`, () => this.runOnce(key, commit, dir, setupLog, signal))
        .finally(() => setupLog.finish());
      this.running.set(key.digest, p);
      p.then(() => this.running.delete(key.digest), () => undefined);
      const sub = setupLog.subscribe(0, (chunk) => log.write(chunk));
      try {
        return await p;
      } finally {
        sub.dispose();
      }
    }
    const products = await log.withPendingReason('Waiting for the setup', () => p!);
    log.write(products.log);
    return products;
  }

  private async runOnce(key: SetupKey, commit: string, dir: string, setupLog: LiveLog, signal: AbortSignal): Promise<SetupProducts> {
    // Across processes: whoever holds the key's lock runs it; the others wait, then find it done.
    const lockFile = path.join(this.root, 'deps', `${setupDirName(key)}.lock`);
    const holder = await readLockHolder(lockFile);
    const waitReason = holder ? setupLog.pushPendingReason(`Waiting for the setup in another process (pid ${holder.pid})`) : undefined;
    const run = randomUUID();
    const lock = await acquireLock(lockFile, { signal, data: run });
    waitReason?.dispose();
    if (!lock) { throw new BuildFailure('Cancelled'); }
    try {
      const done = await readDone(dir, key);
      if (done) {
        setupLog.write(done.log);
        return done;
      }
      await fs.rm(dir, { recursive: true, force: true });
      const tree = path.join(dir, 'tree');
      await fs.mkdir(tree, { recursive: true });
      await checkoutInto(tree, await this.repo(), commit);
      setupLog.log(`Running: ${key.setup.run}`);
      try {
        await runJobProcess({
          command: key.setup.run,
          cwd: tree,
          env: jobEnvironment(process.env, key.setup.env, { job: 'setup', commit, key: key.digest, run, ceiling: dir }),
          run: { name: RUN_VARIABLE, value: run },
          signal,
          timeoutMs: key.setup.timeoutMs,
          timeoutLabel: key.setup.timeout,
          onOutput: (text) => setupLog.write(text),
        });
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        setupLog.log(`Failed: ${why}`);
        throw new BuildFailure(why === 'Cancelled' ? 'Cancelled' : `Setup failed: ${why} (see the "=== setup" section of this log)`);
      }
      const files = await untrackedFiles(tree);
      await keepOnlyProducts(tree);
      for (const f of files) { readOnly(path.join(tree, f)); }
      setupLog.log(`Setup done: ${files.length} files that git does not track`);
      const products: SetupProducts = { key: key.digest, tree, files, log: setupLog.contents() };
      await fs.writeFile(path.join(dir, 'manifest'), files.join('\0'));
      await fs.writeFile(path.join(dir, 'log'), products.log);
      await fs.writeFile(path.join(dir, 'done'), `${key.digest}\n`);
      return products;
    } finally {
      await lock.release();
    }
  }
}

async function readDone(dir: string, key: SetupKey): Promise<SetupProducts | undefined> {
  try {
    if ((await fs.readFile(path.join(dir, 'done'), 'utf8')).trim() !== key.digest) { return undefined; }
    const manifest = await fs.readFile(path.join(dir, 'manifest'), 'utf8');
    return { key: key.digest, tree: path.join(dir, 'tree'), files: manifest === '' ? [] : manifest.split('\0'), log: await fs.readFile(path.join(dir, 'log'), 'utf8') };
  } catch {
    return undefined;
  }
}

/** What git does not track in the checkout (ignored files included): the setup's products. */
async function untrackedFiles(tree: string): Promise<string[]> {
  const r = await runGit([`--git-dir=${path.join(tree, '.git')}`, `--work-tree=${tree}`, 'ls-files', '--others', '-z'], { cwd: tree });
  return r.stdout.toString('utf8').split('\0').filter((f) => f !== '').sort();
}

/** Removes the checkout's tracked files and its repository: only the products stay. */
async function keepOnlyProducts(tree: string): Promise<void> {
  const r = await runGit([`--git-dir=${path.join(tree, '.git')}`, `--work-tree=${tree}`, 'ls-files', '-z'], { cwd: tree });
  for (const f of r.stdout.toString('utf8').split('\0').filter((x) => x !== '')) {
    await fs.rm(path.join(tree, f), { force: true });
  }
  await fs.rm(path.join(tree, '.git'), { recursive: true, force: true });
}

/** No one may write a shared product in place (a job gets a link to the same file). */
function readOnly(file: string): void {
  try {
    const st = fsSync.lstatSync(file);
    if (st.isFile() && st.mode & 0o222) { fsSync.chmodSync(file, st.mode & ~0o222); }
  } catch {
    // gone: nothing to protect
  }
}

const STATE_FILE = 'datakit-ci-setup';

/**
 * Puts the products in a job's checkout, as hard links (symbolic links are copied as links). When the
 * checkout holds the products of another key, those go first. Nothing is done when the same key's are in
 * place (checked file by file, by inode: a job may have removed some).
 */
export async function linkProducts(products: SetupProducts | undefined, checkout: string): Promise<{ linked: number; removed: number }> {
  const state = path.join(checkout, '.git', STATE_FILE);
  const previous = await fs.readFile(state, 'utf8').catch(() => '');
  let removed = 0;
  if (previous !== '' && previous.split('\n')[0] !== products?.key) {
    // The previous key's products: their paths were recorded with the key.
    for (const f of previous.split('\n').slice(1).filter((x) => x !== '')) {
      try { fsSync.unlinkSync(path.join(checkout, f)); removed++; } catch { /* already gone */ }
    }
    await fs.rm(state, { force: true });
  }
  if (!products) { return { linked: 0, removed }; }
  let linked = 0;
  const made = new Set<string>();
  for (const f of products.files) {
    const src = path.join(products.tree, f);
    const dst = path.join(checkout, f);
    const srcStat = fsSync.lstatSync(src, { throwIfNoEntry: false });
    if (!srcStat) { continue; }
    const dstStat = fsSync.lstatSync(dst, { throwIfNoEntry: false });
    if (dstStat && dstStat.ino === srcStat.ino && dstStat.dev === srcStat.dev) { continue; }
    const parent = path.dirname(dst);
    if (!made.has(parent)) { fsSync.mkdirSync(parent, { recursive: true }); made.add(parent); }
    if (dstStat) { fsSync.rmSync(dst, { recursive: true, force: true }); }
    if (srcStat.isSymbolicLink()) {
      fsSync.symlinkSync(fsSync.readlinkSync(src), dst);
    } else {
      fsSync.linkSync(src, dst);
    }
    linked++;
  }
  await fs.writeFile(state, [products.key, ...products.files].join('\n'));
  return { linked, removed };
}
