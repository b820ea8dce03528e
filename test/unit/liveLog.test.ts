import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataKitError } from '../../src/shared/errors';
import { LiveLog, LogManager } from '../../src/engine/liveLog';

// Local time, as the log's timestamps are.
const now = (): Date => new Date(2024, 0, 2, 3, 4, 5);
const TS = '[2024-01-02 03:04:05]';
const marker = (n: number): string => `\n[... ${n} bytes dropped ...]\n`;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function collect(log: LiveLog, from: number): { chunks: string[]; text: () => string } {
  const chunks: string[] = [];
  log.subscribe(from, (c) => chunks.push(c));
  return { chunks, text: () => chunks.join('') };
}

/** `n` lines of exactly `width` ASCII bytes each, numbered. */
function lines(n: number, width: number, first = 0): string[] {
  return Array.from({ length: n }, (_, i) => `line ${first + i} `.padEnd(width - 1, '.') + '\n');
}

describe('LiveLog text', () => {
  it('writes timestamped lines and headings exactly', () => {
    const log = new LiveLog('shell/test-1a2b', 'Test', { now });
    log.heading('Test');
    log.log('Starting...');
    log.write('compiling\n');
    log.heading('Step 2');
    log.log('Success');
    assert.equal(log.contents(), `=== Test\n${TS} Starting...\ncompiling\n\n=== Step 2\n${TS} Success\n`);
    assert.equal(log.length, log.contents().length);
  });

  it('starts a heading or a log line on a line of its own', () => {
    const log = new LiveLog('e', 't', { now });
    log.write('no newline');
    log.heading('H');
    log.write('partial');
    log.log('Failed: boom');
    assert.equal(log.contents(), `no newline\n\n=== H\npartial\n${TS} Failed: boom\n`);
  });

  it('ignores writes after finish, which is idempotent', () => {
    const log = new LiveLog('e', 't', { now });
    let finishes = 0;
    log.onDidFinish(() => finishes++);
    log.write('a\n');
    assert.equal(log.finished, false);
    log.finish();
    log.finish();
    log.write('late\n');
    log.log('late');
    log.heading('late');
    assert.equal(log.finished, true);
    assert.equal(finishes, 1);
    assert.equal(log.contents(), 'a\n');
  });

  it('reports each write with its logical offset', () => {
    const log = new LiveLog('e', 't');
    const seen: { text: string; offset: number }[] = [];
    log.onDidAppend((e) => seen.push(e));
    log.write('ab');
    log.write('');
    log.write('cde');
    assert.deepEqual(seen, [{ text: 'ab', offset: 0 }, { text: 'cde', offset: 2 }]);
  });
});

describe('LogManager', () => {
  it('allows one live log per entry, naming the entry on a collision, and forgets finished logs', () => {
    const logs = new LogManager({ now });
    const created: string[] = [];
    logs.onDidCreate((l) => created.push(`${l.entry}: ${l.title}`));
    const a = logs.create('shell/test-1a2b', 'Test 1a2b');
    assert.equal(logs.get('shell/test-1a2b'), a);
    assert.equal(a.pendingReason(), 'Running');
    assert.throws(() => logs.create('shell/test-1a2b', 'Again'), (e: unknown) =>
      DataKitError.is(e, 'LogCollision') && e.message.includes('shell/test-1a2b'));
    const other = logs.create('shell/lint-1a2b', 'Lint', { pending: 'Linting' });
    assert.equal(other.pendingReason(), 'Linting');
    assert.deepEqual(logs.all(), [a, other]);
    a.finish();
    assert.equal(logs.get('shell/test-1a2b'), undefined);
    const b = logs.create('shell/test-1a2b', 'Test 1a2b');
    assert.notEqual(b, a);
    a.finish(); // An old log finishing again must not drop the new one.
    assert.equal(logs.get('shell/test-1a2b'), b);
    assert.deepEqual(created, ['shell/test-1a2b: Test 1a2b', 'shell/lint-1a2b: Lint', 'shell/test-1a2b: Test 1a2b']);
  });

  it('gives its logs its clock and cap', () => {
    const log = new LogManager({ now, capBytes: 10 }).create('e', 't');
    log.log('x');
    assert.equal(log.contents(), `[2024${marker(14)}5] x\n`);
  });
});

describe('LiveLog subscriptions', () => {
  it('delivers from 0, from the middle and beyond the end, synchronously, then every later write', () => {
    const log = new LiveLog('e', 't');
    log.write('hello ');
    log.write('world\n');
    const all = collect(log, 0);
    const mid = collect(log, 3);
    const ahead = collect(log, 14);
    assert.deepEqual(all.chunks, ['hello world\n']);
    assert.deepEqual(mid.chunks, ['lo world\n']);
    assert.deepEqual(ahead.chunks, []);
    log.write('more');
    log.write(' text\n');
    assert.deepEqual(all.chunks, ['hello world\n', 'more', ' text\n']);
    assert.deepEqual(mid.chunks, ['lo world\n', 'more', ' text\n']);
    assert.deepEqual(ahead.chunks, ['re', ' text\n']);
  });

  it('stops on dispose and at finish, and delivers a finished log whole', () => {
    const log = new LiveLog('e', 't');
    log.write('a');
    const chunks: string[] = [];
    const sub = log.subscribe(0, (c) => chunks.push(c));
    log.write('b');
    sub.dispose();
    log.write('c');
    assert.deepEqual(chunks, ['a', 'b']);
    const kept = collect(log, 1);
    log.finish();
    log.write('d');
    assert.deepEqual(kept.chunks, ['bc']);
    assert.deepEqual(collect(log, 0).chunks, ['abc']);
    assert.deepEqual(collect(log, 2).chunks, ['c']);
  });

  it('delivers a write made by the listener itself after what it was given', () => {
    const log = new LiveLog('e', 't');
    log.write('x');
    const chunks: string[] = [];
    log.subscribe(0, (c) => { chunks.push(c); if (c === 'x') { log.write('y'); } });
    assert.deepEqual(chunks, ['x', 'y']);
  });
});

describe('LiveLog memory cap (UTF-8 bytes)', () => {
  it('keeps the head cut at a line break, one marker with the exact count, and the tail', () => {
    const log = new LiveLog('e', 't', { capBytes: 110 });
    const ls = lines(20, 10);
    for (const l of ls) { log.write(l); }
    const all = ls.join('');
    // Head: 5 whole lines (50 bytes, under 55); tail: the last 60 bytes; 200 - 50 - 60 = 90 dropped.
    assert.equal(log.contents(), all.slice(0, 50) + marker(90) + all.slice(140));
    assert.equal(log.droppedBytes, 90);
    assert.equal(log.length, 200);
    log.write(ls[0]);
    assert.equal(log.contents(), all.slice(0, 50) + marker(100) + (all + ls[0]).slice(150));
    assert.equal(log.contents().split('bytes dropped').length, 2);
  });

  it('cuts the head at the byte limit when no line break is near it', () => {
    const log = new LiveLog('e', 't', { capBytes: 100 });
    log.write('x'.repeat(250));
    assert.equal(log.contents(), 'x'.repeat(50) + marker(150) + 'x'.repeat(50));
    log.write('y'.repeat(10));
    assert.equal(log.contents(), 'x'.repeat(50) + marker(160) + 'x'.repeat(40) + 'y'.repeat(10));
  });

  it('keeps only the end of a write bigger than the cap after truncation', () => {
    const log = new LiveLog('e', 't', { capBytes: 110 });
    const ls = lines(13, 10);
    for (const l of ls) { log.write(l); }
    const big = lines(40, 12).join('');
    log.write(big);
    assert.equal(log.contents(), ls.slice(0, 5).join('') + marker(130 + 480 - 50 - 60) + big.slice(-60));
  });

  it('does not truncate at exactly the cap', () => {
    const log = new LiveLog('e', 't', { capBytes: 100 });
    log.write('z'.repeat(100));
    assert.equal(log.contents(), 'z'.repeat(100));
  });

  it('counts bytes, not characters, and never splits a character', () => {
    const e = new LiveLog('e', 't', { capBytes: 100 });
    e.write('é'.repeat(100));
    assert.equal(e.contents(), 'é'.repeat(25) + marker(100) + 'é'.repeat(25));
    const smile = new LiveLog('e', 't', { capBytes: 10 });
    smile.write('😀'.repeat(5));
    // Head: 1 (4 bytes of 5); tail budget 6: dropping reaches 10 bytes only after 3 whole characters.
    assert.equal(smile.contents(), '😀' + marker(12) + '😀');
    assert.equal(smile.length, 10);
  });

  it('holds megabytes of small writes to the cap with the head and tail intact', () => {
    const cap = 1024 * 1024;
    const log = new LiveLog('e', 't', { capBytes: cap });
    const ls = lines(3 * 1024, 1024);
    for (const l of ls) { log.write(l); }
    const head = ls.slice(0, 512).join('');
    const tail = ls.slice(-512).join('');
    assert.equal(log.contents(), head + marker(2048 * 1024) + tail);
  });

  it('matches a reference model over random writes, small and larger than its chunks', () => {
    let seed = 7;
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const cap = 200_000;
    const log = new LiveLog('e', 't', { capBytes: cap });
    let total = '';
    let head: string | undefined;
    for (let i = 0; i < 600; i++) {
      const size = [1 + random(100), 1000 + random(4000), 65536 + random(4000)][random(3)];
      const w = `${i}:`.padEnd(size - 1, String.fromCharCode(97 + random(26))) + (random(2) ? '\n' : '-');
      log.write(w);
      total += w;
      if (head === undefined && total.length > cap) {
        // ASCII only, so bytes are characters: the head rule, restated.
        const end = cap / 2;
        const nl = total.lastIndexOf('\n', end - 1);
        head = total.slice(0, nl >= 0 && (nl + 1) * 2 >= end ? nl + 1 : end);
      }
    }
    assert.ok(head !== undefined);
    const tail = total.slice(total.length - (cap - head.length));
    assert.equal(log.length, total.length);
    assert.equal(log.droppedBytes, total.length - cap);
    assert.equal(log.contents(), head + marker(total.length - cap) + tail);
    const from = total.length - 1000;
    assert.deepEqual(collect(log, from).chunks, [total.slice(from)]);
  });

  it('subscribes across the marker by logical offset', () => {
    const log = new LiveLog('e', 't', { capBytes: 110 });
    const ls = lines(20, 10);
    for (const l of ls) { log.write(l); }
    const all = ls.join('');
    // Kept: [0, 50) and [140, 200).
    const rest = marker(90) + all.slice(140);
    assert.deepEqual(collect(log, 0).chunks, [all.slice(0, 50) + rest]);
    assert.deepEqual(collect(log, 40).chunks, [all.slice(40, 50) + rest]);
    assert.deepEqual(collect(log, 50).chunks, [rest]);
    assert.deepEqual(collect(log, 100).chunks, [rest]);
    assert.deepEqual(collect(log, 139).chunks, [rest]);
    assert.deepEqual(collect(log, 150).chunks, [all.slice(150)]);
    const live = collect(log, 0);
    log.write('new\n');
    assert.equal(live.chunks[1], 'new\n');
  });
});

describe('LiveLog pending reasons', () => {
  it('stacks reasons over the base and reports each change in order', async () => {
    const log = new LiveLog('e', 't', { pending: 'Building' });
    const events: string[] = [];
    log.onDidChangePending((r) => events.push(r));
    assert.equal(log.pendingReason(), 'Building');
    const result = await log.withPendingReason('A', async () => {
      assert.equal(log.pendingReason(), 'A');
      await assert.rejects(log.withPendingReason('B', async () => {
        assert.equal(log.pendingReason(), 'B');
        throw new Error('inner');
      }), /inner/);
      assert.equal(log.pendingReason(), 'A');
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(log.pendingReason(), 'Building');
    log.setBasePendingReason('Saving');
    assert.deepEqual(events, ['A', 'B', 'A', 'Building', 'Saving']);
  });

  it('updates a pushed reason in place and pops it out of order', () => {
    const log = new LiveLog('e', 't');
    const events: string[] = [];
    log.onDidChangePending((r) => events.push(r));
    const a = log.pushPendingReason('a1');
    const b = log.pushPendingReason('b');
    a.update('a2'); // Hidden under b: nothing visible changes.
    b.dispose();
    b.dispose();
    a.update('a3');
    a.dispose();
    assert.deepEqual(events, ['a1', 'b', 'a2', 'a3', 'Running']);
  });

  it('resolves pendingChanged at a change or at finish, not at a write, and stops after finish', async () => {
    const log = new LiveLog('e', 't');
    let fired = 0;
    void log.pendingChanged().then(() => fired++);
    log.write('output\n');
    await tick();
    assert.equal(fired, 0);
    const h = log.pushPendingReason('waiting');
    await tick();
    assert.equal(fired, 1);
    void log.pendingChanged().then(() => fired++);
    const events: string[] = [];
    log.onDidChangePending((r) => events.push(r));
    log.finish();
    await tick();
    assert.equal(fired, 2);
    h.dispose();
    log.setBasePendingReason('x');
    assert.deepEqual(events, []);
    await log.pendingChanged();
  });
});
