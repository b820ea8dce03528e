import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { platform } from '../../src/jobs/platform';
import { acquireLock, readLockHolder, type StaleHolder } from '../../src/jobs/run/lockFile';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LOCK_MODULE = path.join(ROOT, 'out/src/jobs/run/lockFile.js');

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); } else { child.once('exit', () => resolve()); }
  });
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid!;
}

function writeLock(file: string, pid: number, hostname = os.hostname(), extra: object = {}): void {
  fs.writeFileSync(file, JSON.stringify({ pid, hostname, startedAt: '2001-02-03T04:05:06.000Z', ...extra }));
}

/** Sets a lock file's heartbeat (its mtime) to `ms` ago. */
function age(file: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  fs.utimesSync(file, then, then);
}

describe('lock files', () => {
  let tmp: string;
  let n = 0;
  const next = (): string => path.join(tmp, `l${++n}`, 'x.lock');

  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-lock-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('creates the file with our pid, reports us as the holder, and removes it on release', async () => {
    const file = next();
    const h = await acquireLock(file, { wait: false });
    assert.ok(h);
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual([info.pid, info.hostname, typeof info.startedAt], [process.pid, os.hostname(), 'string']);
    assert.deepEqual(await readLockHolder(file), { pid: process.pid });
    assert.equal(await acquireLock(file, { wait: false }), undefined);
    await h.release();
    await h.release();
    assert.equal(fs.existsSync(file), false);
    assert.equal(await readLockHolder(file), undefined);
  });

  it('waits for a held lock until it is released, telling who holds it', async () => {
    const file = next();
    const first = (await acquireLock(file))!;
    const held = fs.readFileSync(file, 'utf8');
    const told: number[] = [];
    // The waiter says, through onWait, that it found the lock held and waits: only then is it released.
    let seenHeld!: () => void;
    const waits = new Promise<void>((r) => { seenHeld = r; });
    const waiting = acquireLock(file, { pollMs: 5, onWait: (h) => { told.push(h.pid); seenHeld(); } });
    await waits;
    assert.equal(fs.readFileSync(file, 'utf8'), held, 'the waiter has not taken the lock while it was held');
    await first.release();
    const second = await waiting;
    assert.ok(second);
    assert.deepEqual(told, [process.pid]);
    assert.equal(await acquireLock(file, { timeoutMs: 20, pollMs: 5 }), undefined);
    const ac = new AbortController();
    const aborted = acquireLock(file, { pollMs: 5, signal: ac.signal });
    ac.abort();
    assert.equal(await aborted, undefined);
    await second.release();
  });

  it('takes over a lock whose process has died', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const pid = await deadPid();
    assert.equal(await platform().isAlive(pid), false);
    writeLock(file, pid);
    assert.equal(await readLockHolder(file), undefined);
    const h = await acquireLock(file, { wait: false });
    assert.ok(h);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
    assert.equal(fs.existsSync(`${file}.takeover`), false);
    await h.release();
  });

  it('is blocked by a live holder, and takes over once it is gone', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      writeLock(file, child.pid!, os.hostname(), { startedAt: new Date().toISOString() });
      assert.equal(await acquireLock(file, { wait: false }), undefined);
      assert.deepEqual(await readLockHolder(file), { pid: child.pid });
    } finally {
      child.kill();
      await exited(child);
    }
    const h = await acquireLock(file, { wait: false });
    assert.ok(h);
    await h.release();
  });

  it('takes an unparseable lock only once it is old; another host\'s lock is left alone', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    assert.equal(await acquireLock(file, { wait: false }), undefined);
    assert.equal(await readLockHolder(file), undefined);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const h = (await acquireLock(file, { wait: false }))!;
    assert.ok(h);
    await h.release();
    writeLock(file, await deadPid(), `not-${os.hostname()}`);
    assert.equal(await acquireLock(file, { wait: false }), undefined);
  });

  it('takes over a lock whose pid now belongs to another process (its start time differs)', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // This very process stands for the unrelated process that reused the holder's pid.
    writeLock(file, process.pid, os.hostname(), { startTime: '1' });
    assert.equal(await readLockHolder(file), undefined);
    const stale: StaleHolder[] = [];
    const h = (await acquireLock(file, { wait: false, onTakeOver: (s) => { stale.push(s); } }))!;
    assert.ok(h);
    assert.deepEqual(stale, [{ pid: process.pid, hostname: os.hostname(), data: undefined, reason: `pid ${process.pid} now belongs to another process` }]);
    await h.release();
  });

  it('takes over at once a lock that records no start time when its pid belongs to a process started after the lock was taken', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A live process that took the pid after the holder died: the lock was taken in 2001, its heartbeat is fresh.
    const reused = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      writeLock(file, reused.pid!, os.hostname(), { data: 'run-9' });
      assert.equal(await readLockHolder(file), undefined, 'the process that has the pid now is not the holder');
      const stale: StaleHolder[] = [];
      const h = await acquireLock(file, { wait: false, onTakeOver: (s) => { stale.push(s); } });
      assert.ok(h, 'taken at once');
      assert.deepEqual(stale, [{ pid: reused.pid, hostname: os.hostname(), data: 'run-9', reason: `pid ${reused.pid} now belongs to a process that started after the lock was taken` }]);
      await h.release();
      // The same lock taken by that very process after it started is its own.
      writeLock(file, reused.pid!, os.hostname(), { startedAt: new Date().toISOString() });
      assert.deepEqual(await readLockHolder(file), { pid: reused.pid });
    } finally {
      reused.kill('SIGKILL');
      await exited(reused);
    }
  });

  it('takes over another host\'s lock, or a live holder\'s, once its heartbeat has stopped', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeLock(file, 12345, 'another-host', { data: 'run-7' });
    age(file, 5_000);
    assert.deepEqual(await readLockHolder(file, { heartbeatStaleMs: 10_000 }), { pid: 12345 }, 'a fresh heartbeat: alive');
    assert.equal(await acquireLock(file, { wait: false, heartbeatStaleMs: 10_000 }), undefined);
    age(file, 11_000);
    const stale: StaleHolder[] = [];
    const h = (await acquireLock(file, { wait: false, heartbeatStaleMs: 10_000, onTakeOver: (s) => { stale.push(s); } }))!;
    assert.ok(h);
    assert.equal(stale[0].data, 'run-7');
    assert.match(stale[0].reason, /^its holder \(pid 12345 on another-host\) has not refreshed it for 1\d s$/);
    await h.release();

    // A live process of this host that stopped beating (hung, or stopped with SIGSTOP).
    writeLock(file, process.pid, os.hostname(), { startTime: await platform().startTime(process.pid) });
    assert.deepEqual(await readLockHolder(file), { pid: process.pid });
    age(file, 11_000);
    assert.equal(await readLockHolder(file, { heartbeatStaleMs: 10_000 }), undefined);
  });

  it('keeps its own heartbeat fresh while it holds the lock', async () => {
    const file = next();
    const h = (await acquireLock(file, { heartbeatMs: 20 }))!;
    age(file, 50_000);
    const deadline = Date.now() + 10_000;
    while (Date.now() - fs.statSync(file).mtimeMs > 10_000 && Date.now() < deadline) { await new Promise((r) => setTimeout(r, 10)); }
    assert.ok(Date.now() - fs.statSync(file).mtimeMs < 10_000, 'the heartbeat refreshed the file');
    await h.release();
  });

  it('releases only its own lock', async () => {
    const file = next();
    const h = (await acquireLock(file))!;
    writeLock(file, process.pid);
    await h.release();
    assert.equal(fs.existsSync(file), true);
  });

  it('lets exactly one of several racing takers win a dead lock, in one process', async () => {
    const dead = await deadPid();
    for (let round = 0; round < 20; round++) {
      const file = next();
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeLock(file, dead);
      const results = await Promise.all(Array.from({ length: 5 }, () => acquireLock(file, { wait: false })));
      assert.equal(results.filter(Boolean).length, 1, `round ${round}`);
      await results.find(Boolean)!.release();
    }
  });

  it('lets exactly one of several racing processes win a dead lock', async () => {
    const file = next();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeLock(file, await deadPid());
    // Each process loads, waits for "go", tries once, reports, and keeps what it won until stdin closes.
    const script = `const { acquireLock } = require(${JSON.stringify(LOCK_MODULE)});
      process.stdin.once('data', async () => {
        const h = await acquireLock(${JSON.stringify(file)}, { wait: false });
        console.log(h ? 'won' : 'lost');
        process.stdin.once('end', () => process.exit(0));
      });
      console.log('ready');`;
    const children = Array.from({ length: 6 }, () => spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const lines = children.map((c) => {
      const got: string[] = [];
      const waiters: (() => void)[] = [];
      c.stdout!.setEncoding('utf8').on('data', (s: string) => {
        got.push(...s.split('\n').filter(Boolean));
        waiters.splice(0).forEach((w) => w());
      });
      return async (count: number): Promise<string[]> => {
        while (got.length < count) { await new Promise<void>((r) => waiters.push(r)); }
        return got;
      };
    });
    await Promise.all(lines.map((l) => l(1)));
    for (const c of children) { c.stdin!.write('go\n'); }
    const outcomes = (await Promise.all(lines.map((l) => l(2)))).map((g) => g[1]);
    for (const c of children) { c.stdin!.end(); }
    await Promise.all(children.map(exited));
    assert.equal(outcomes.filter((o) => o === 'won').length, 1);
    assert.equal(outcomes.filter((o) => o === 'lost').length, 5);
  });
});
