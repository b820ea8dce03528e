import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { platform } from '../../src/jobs/platform';
import { runJobProcess, type RunJobProcessOptions } from '../../src/jobs/run/process';

let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datakit-process-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** Runs a command; gives the failure message (or 'ok') and the output, chunk by chunk. */
async function run(command: string, opts: Partial<RunJobProcessOptions> = {}): Promise<{ result: string; chunks: string[] }> {
  const chunks: string[] = [];
  const result = await runJobProcess({ command, cwd: dir, env: { ...process.env } as Record<string, string>, timeoutMs: 20_000, onOutput: (t) => chunks.push(t), ...opts })
    .then(() => 'ok', (e: Error & { code?: string }) => {
      // A cancel is a cancel (the engine saves it so), every other stop a build failure.
      assert.equal(e.code, e.message === 'Cancelled' ? 'Cancelled' : 'BuildFailure');
      return e.message;
    });
  return { result, chunks };
}

/**
 * The process no longer runs: kill(pid, 0) fails with ESRCH — or, where PID 1 does not reap orphans (as in
 * some containers), the killed process is a zombie, which has no code or files left.
 */
async function assertGone(pid: number): Promise<void> {
  assert.ok(Number.isInteger(pid) && pid > 1, `pid ${pid}`);
  try {
    process.kill(pid, 0);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.equal(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), 'Z', `${pid} still runs`);
  assert.equal(await platform().isAlive(pid), false);
}

function readPid(file: string): number {
  return Number(fs.readFileSync(path.join(dir, file), 'utf8').trim());
}

describe('runJobProcess', { skip: process.platform === 'win32' && 'POSIX shells and process groups' }, () => {
  it('resolves on exit 0 with the output as written', async () => {
    const { result, chunks } = await run('echo hello; echo world');
    assert.equal(result, 'ok');
    assert.equal(chunks.join(''), 'hello\nworld\n');
  });

  it('fails with the exit code', async () => {
    assert.equal((await run('exit 3')).result, 'Command exited with code 3');
    assert.equal((await run('false')).result, 'Command exited with code 1');
    assert.equal((await run('no-such-command-datakit')).result, 'Command exited with code 127');
  });

  it('fails with the name of the signal that killed the command', async () => {
    assert.equal((await run('kill -9 $$')).result, 'Killed by SIGKILL');
    assert.equal((await run('kill -TERM $$')).result, 'Killed by SIGTERM');
  });

  it('keeps the order in which the command wrote to stdout and stderr', async () => {
    const { result, chunks } = await run('echo one; echo two >&2; echo three; printf four >&2; echo; ls /no-such-datakit-dir 2>/dev/null; echo five');
    assert.equal(result, 'ok');
    assert.equal(chunks.join(''), 'one\ntwo\nthree\nfour\nfive\n');
  });

  it('with stderr apart, says which text came from stderr (the order between the two pipes is not asserted: it is not kept)', async () => {
    const got: [string, string | undefined][] = [];
    const { result } = await run('echo out one; echo err one >&2; printf "err two\\n" >&2; echo out two', { stderr: 'apart', onOutput: (t, stream) => got.push([t, stream]) });
    assert.equal(result, 'ok');
    const of = (stream: string | undefined): string => got.filter(([, s]) => s === stream).map(([t]) => t).join('');
    assert.equal(of('stderr'), 'err one\nerr two\n');
    assert.equal(of(undefined), 'out one\nout two\n');
  });

  it('streams output while the command runs', async () => {
    // The command waits for a file that the test writes only once it has seen the first line.
    const seen: string[] = [];
    const { result, chunks } = await run('echo ready; while [ ! -f go ]; do sleep 0.02; done; echo done', {
      onOutput: (t) => {
        seen.push(t);
        if (seen.join('') === 'ready\n') {
          fs.writeFileSync(path.join(dir, 'go'), '');
        }
      },
    });
    assert.equal(result, 'ok');
    assert.deepEqual(chunks, []);
    assert.equal(seen.join(''), 'ready\ndone\n');
  });

  it('does not split a character written in two pieces', async () => {
    const { chunks } = await run("printf '\\303'; sleep 0.1; printf '\\251t\\342\\202'; sleep 0.1; printf '\\254\\n'");
    assert.equal(chunks.join(''), 'ét€\n');
    assert.ok(chunks.every((c) => !c.includes('\uFFFD')));
  });

  it('gives the command exactly the environment it is handed, nothing of its own process', async () => {
    process.env.DATAKIT_TEST_INHERITED = 'inherited';
    try {
      const { chunks } = await run('echo "$FOO|$DATAKIT_CI|${DATAKIT_TEST_INHERITED-unset}|$HOME"', {
        env: { FOO: 'bar baz', DATAKIT_CI: '1', HOME: '/nowhere', PATH: process.env.PATH! },
      });
      assert.equal(chunks.join(''), 'bar baz|1|unset|/nowhere\n');
    } finally {
      delete process.env.DATAKIT_TEST_INHERITED;
    }
  });

  it('runs in the given directory, and says so when it does not exist', async () => {
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    assert.equal((await run('pwd -P')).chunks.join(''), `${fs.realpathSync(dir)}\n`);
    const missing = path.join(dir, 'missing');
    assert.equal((await run('true', { cwd: missing })).result, `Cannot run the command: the directory ${missing} does not exist`);
    fs.writeFileSync(path.join(dir, 'file'), '');
    assert.equal((await run('true', { cwd: path.join(dir, 'file') })).result, `Cannot run the command: ${path.join(dir, 'file')} is not a directory`);
  });

  it('on timeout, kills the whole process group, grandchildren included', async () => {
    const { result } = await run('sleep 30 & echo $! > timeout.pid; wait', { timeoutMs: 300 });
    assert.equal(result, 'Timed out after 300ms');
    await assertGone(readPid('timeout.pid'));
  });

  it('names the timeout as the caller wrote it', async () => {
    assert.equal((await run('sleep 30', { timeoutMs: 200, timeoutLabel: '10m' })).result, 'Timed out after 10m');
  });

  it('on cancel, kills the whole process group, grandchildren included', async () => {
    const controller = new AbortController();
    const { result } = await run('sleep 30 & echo $! > cancel.pid; echo started; wait', {
      signal: controller.signal,
      onOutput: (t) => { if (t.includes('started')) { controller.abort(); } },
    });
    assert.equal(result, 'Cancelled');
    await assertGone(readPid('cancel.pid'));
  });

  it('sends SIGKILL after the grace period to processes that ignore SIGTERM', async () => {
    // An ignored signal stays ignored across fork and exec, so the grandchild ignores SIGTERM too.
    const { result } = await run("trap '' TERM; sleep 30 & echo $! > stubborn.pid; wait; wait", { timeoutMs: 200, killGraceMs: 200 });
    assert.equal(result, 'Timed out after 200ms');
    await assertGone(readPid('stubborn.pid'));
  });

  it('spawns nothing when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result, chunks } = await run('touch spawned', { signal: controller.signal });
    assert.equal(result, 'Cancelled');
    assert.deepEqual(chunks, []);
    assert.equal(fs.existsSync(path.join(dir, 'spawned')), false);
  });

  // Descendants that left the job's process group carry the run's marker in their environment.
  const marked = (value: string): Partial<RunJobProcessOptions> => ({
    env: { ...process.env, DATAKIT_CI_RUN: value } as Record<string, string>,
    run: { name: 'DATAKIT_CI_RUN', value },
  });

  it('on timeout, kills a daemon that left the process group with setsid', async () => {
    const { result } = await run('setsid sh -c "echo \\$\\$ > daemon.pid; exec sleep 30" < /dev/null > /dev/null 2>&1 & sleep 30', { timeoutMs: 500, ...marked('t1') });
    assert.equal(result, 'Timed out after 500ms');
    await assertGone(readPid('daemon.pid'));
  });

  it('kills what a successful command left running after a double fork, with nohup or setsid', async () => {
    const { result } = await run([
      '(sh -c "sleep 30 & echo \\$! > forked.pid" &)',
      'nohup sh -c "echo \\$\\$ > nohup.pid; exec sleep 30" > /dev/null 2>&1 &',
      'setsid sh -c "echo \\$\\$ > setsid.pid; exec sleep 30" < /dev/null > /dev/null 2>&1 &',
      'while [ ! -s forked.pid ] || [ ! -s nohup.pid ] || [ ! -s setsid.pid ]; do sleep 0.05; done; echo done',
    ].join('\n'), marked('t2'));
    assert.equal(result, 'ok');
    for (const f of ['forked.pid', 'nohup.pid', 'setsid.pid']) { await assertGone(readPid(f)); }
  });

  it('kills what a successful command left running in the background', async () => {
    const { result, chunks } = await run('sleep 30 & echo $! > leftover.pid; echo done');
    assert.equal(result, 'ok');
    assert.equal(chunks.join(''), 'done\n');
    await assertGone(readPid('leftover.pid'));
  });
});

describe('isAlive', { skip: process.platform === 'win32' && 'POSIX shells' }, () => {
  it('is true for this process and false for one that has exited', async () => {
    assert.equal(await platform().isAlive(process.pid), true);
    const { result } = await run('echo $$ > self.pid');
    assert.equal(result, 'ok');
    assert.equal(await platform().isAlive(readPid('self.pid')), false);
  });
});

describe('backpressure from the output\'s reader', { skip: process.platform !== 'linux' && '/proc' }, () => {
  it('stops reading while the flow is held, so that the command blocks on its writes, and loses nothing', async () => {
    const { Flow } = await import('../../src/engine/flow.js');
    const flow = new Flow();
    let received = 0;
    let hold: { dispose(): void } | undefined;
    const pidFile = path.join(dir, 'writer.pid');
    const done = runJobProcess({
      command: `echo $$ > '${pidFile}'; exec head -c 50000000 /dev/zero`, cwd: dir, env: { ...process.env } as Record<string, string>, timeoutMs: 60_000, flow,
      onOutput: (t) => { received += t.length; hold ??= flow.hold(); },
    });
    // The writer is blocked in the kernel, writing into a full pipe (Node's are socket pairs) that nobody reads.
    const BLOCKED_WRITE = /^(pipe_write|sock_alloc_send_pskb|unix_stream_sendmsg)$/;
    const deadline = Date.now() + 30_000;
    const wchan = (): string => { try { return fs.readFileSync(`/proc/${readPid('writer.pid')}/wchan`, 'utf8'); } catch { return ''; } };
    let seen = '';
    // Once the flow is held (after the first output): before that, a busy machine may leave the pipe full for a moment too.
    while (!(hold !== undefined && BLOCKED_WRITE.test(seen = wchan())) && Date.now() < deadline) { await new Promise((r) => setTimeout(r, 20)); }
    assert.match(seen, BLOCKED_WRITE);
    const whileHeld = received;
    assert.ok(whileHeld > 0 && whileHeld < 50_000_000);
    hold!.dispose();
    await done;
    assert.equal(received, 50_000_000);
  });
});
