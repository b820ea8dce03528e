import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataKitError } from '../../src/shared/errors';
import { LiveLog } from '../../src/engine/liveLog';
import { CacheMetrics } from '../../src/engine/metrics';
import { Pool } from '../../src/engine/pool';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const isCancelled = (e: unknown): boolean => DataKitError.is(e, 'Cancelled') && e.message === 'Cancelled';

/** A job that the test finishes by hand. */
class Job {
  readonly log: LiveLog;
  started = false;
  result: Promise<string>;
  private release!: () => void;
  private readonly gate = new Promise<void>((r) => { this.release = r; });

  constructor(pool: Pool, readonly name: string, order: string[], signal?: AbortSignal, priority?: number | (() => number), declared?: number) {
    this.log = new LiveLog(`test/${name}`, name);
    this.result = pool.use(this.log, signal, async () => {
      this.started = true;
      order.push(name);
      assert.equal(this.log.pendingReason(), 'Running');
      await this.gate;
      return name;
    }, priority, declared);
  }

  async finish(): Promise<string> {
    this.release();
    const r = await this.result;
    await tick();
    return r;
  }
}

const waiting = (n: number): string => (n === 0 ? 'queued · next' : `queued · ${n} ahead`);

describe('Pool', () => {
  it('runs one job at a time in FIFO order with capacity 1, saying how many are ahead', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Job(pool, n, order));
    await tick();
    assert.deepEqual(order, ['a']);
    assert.deepEqual([a, b, c, d].map((j) => j.log.pendingReason()), ['Running', waiting(0), waiting(1), waiting(2)]);
    assert.equal(pool.inUse, 1);
    assert.equal(pool.queueLength, 3);
    const seen: string[] = [];
    d.log.onDidChangePending((r) => seen.push(r));
    assert.equal(await a.finish(), 'a');
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual([c, d].map((j) => j.log.pendingReason()), [waiting(0), waiting(1)]);
    await b.finish();
    await c.finish();
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    assert.deepEqual(seen, [waiting(1), waiting(0), 'Running']);
    await d.finish();
    assert.equal(pool.inUse, 0);
    assert.equal(pool.queueLength, 0);
  });

  it('gives a freed slot to the queued job of highest priority, the oldest among equals, and says so to those it passes', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const running = new Job(pool, 'running', order);
    const low1 = new Job(pool, 'low1', order, undefined, 0);
    const low2 = new Job(pool, 'low2', order, undefined, 0);
    await tick();
    assert.deepEqual([low1, low2].map((j) => j.log.pendingReason()), [waiting(0), waiting(1)]);
    const high = new Job(pool, 'high', order, undefined, 2);
    const mid = new Job(pool, 'mid', order, undefined, 1);
    const high2 = new Job(pool, 'high2', order, undefined, 2);
    await tick();
    assert.deepEqual([high, high2, mid, low1, low2].map((j) => j.log.pendingReason()), [0, 1, 2, 3, 4].map(waiting));
    for (const j of [running, high, high2, mid, low1, low2]) { await j.finish(); }
    assert.deepEqual(order, ['running', 'high', 'high2', 'mid', 'low1', 'low2']);
  });

  it('orders its queue anew when told priorities changed: what matters now goes first, and the queued say so', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const urgent = new Set<string>();
    const priority = (name: string) => (): number => (urgent.has(name) ? 1 : 0);
    const running = new Job(pool, 'running', order);
    const [old1, old2, head] = ['old1', 'old2', 'head'].map((n) => new Job(pool, n, order, undefined, priority(n)));
    await tick();
    assert.deepEqual([old1, old2, head].map((j) => j.log.pendingReason()), [0, 1, 2].map(waiting), 'first come, first served');
    urgent.add('head');
    pool.reprioritize();
    assert.deepEqual([head, old1, old2].map((j) => j.log.pendingReason()), [0, 1, 2].map(waiting), 'the urgent one is next');
    for (const j of [running, head, old1, old2]) { await j.finish(); }
    assert.deepEqual(order, ['running', 'head', 'old1', 'old2']);
  });

  it('among equal priorities, starts the lowest order first, whatever the order of the calls', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const running = new Job(pool, 'running', order);
    const jobs = [3, 1, 2, 0].map((n) => new Job(pool, `declared${n}`, order, undefined, 0, n));
    await tick();
    assert.deepEqual(jobs.map((j) => j.log.pendingReason()), [3, 1, 2, 0].map(waiting));
    await running.finish();
    for (const n of [0, 1, 2, 3]) { await jobs[[3, 1, 2, 0].indexOf(n)].finish(); }
    assert.deepEqual(order, ['running', 'declared0', 'declared1', 'declared2', 'declared3']);
  });

  it('runs two at a time with capacity 2, starting the oldest queued job when either ends', async () => {
    const pool = new Pool('p', 2);
    const order: string[] = [];
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n) => new Job(pool, n, order));
    await tick();
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual([c, d, e].map((j) => j.log.pendingReason()), [waiting(0), waiting(1), waiting(2)]);
    await b.finish();
    assert.deepEqual(order, ['a', 'b', 'c']);
    await a.finish();
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    assert.equal(e.log.pendingReason(), waiting(0));
    await c.finish();
    await d.finish();
    await e.finish();
    assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e']);
  });

  it('removes a cancelled job from the queue: it never runs and those behind it move up', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const abort = new AbortController();
    const a = new Job(pool, 'a', order);
    const b = new Job(pool, 'b', order, abort.signal);
    const c = new Job(pool, 'c', order);
    await tick();
    assert.equal(c.log.pendingReason(), waiting(1));
    abort.abort();
    await assert.rejects(b.result, isCancelled);
    assert.equal(b.log.pendingReason(), 'Running');
    assert.equal(c.log.pendingReason(), waiting(0));
    assert.equal(pool.queueLength, 1);
    await a.finish();
    await c.finish();
    assert.deepEqual(order, ['a', 'c']);
    assert.equal(b.started, false);
  });

  it('refuses a job whose signal has already aborted, even with a free slot', async () => {
    const pool = new Pool('p', 1);
    let ran = false;
    await assert.rejects(pool.use(undefined, AbortSignal.abort(), async () => { ran = true; }), isCancelled);
    assert.equal(ran, false);
    assert.equal(pool.inUse, 0);
  });

  it('releases the slot when the job throws', async () => {
    const pool = new Pool('p', 1);
    await assert.rejects(pool.use(undefined, undefined, async () => { throw new Error('boom'); }), /boom/);
    assert.equal(pool.inUse, 0);
    assert.equal(await pool.use(undefined, undefined, async () => 7), 7);
  });

  it('starts queued jobs when its capacity grows, and lets running ones finish when it shrinks', async () => {
    const pool = new Pool('p', 1);
    const order: string[] = [];
    const jobs = ['a', 'b', 'c', 'd'].map((n) => new Job(pool, n, order));
    await tick();
    pool.capacity = 3;
    await tick();
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(jobs[3].log.pendingReason(), waiting(0));
    pool.capacity = 1;
    await jobs[0].finish();
    await jobs[1].finish();
    assert.deepEqual(order, ['a', 'b', 'c']);
    await jobs[2].finish();
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    await jobs[3].finish();
    assert.throws(() => { pool.capacity = 0; }, (e: unknown) => DataKitError.is(e, 'InvalidCapacity'));
    assert.throws(() => new Pool('q', 1.5), (e: unknown) => DataKitError.is(e, 'InvalidCapacity'));
  });

  it('reports its queue, slots and times to the metrics', async () => {
    const metrics = new CacheMetrics();
    const pool = new Pool('builds', 1, metrics);
    const order: string[] = [];
    const a = new Job(pool, 'a', order);
    const b = new Job(pool, 'b', order);
    await tick();
    let text = await metrics.text();
    assert.match(text, /^DataKitCI_pool_qlen\{name="builds"\} 1$/m);
    assert.match(text, /^DataKitCI_pool_resources_in_use\{name="builds"\} 1$/m);
    assert.match(text, /^DataKitCI_pool_capacity\{name="builds"\} 1$/m);
    await a.finish();
    await b.finish();
    pool.capacity = 4;
    text = await metrics.text();
    assert.match(text, /^DataKitCI_pool_qlen\{name="builds"\} 0$/m);
    assert.match(text, /^DataKitCI_pool_resources_in_use\{name="builds"\} 0$/m);
    assert.match(text, /^DataKitCI_pool_capacity\{name="builds"\} 4$/m);
    assert.match(text, /^DataKitCI_pool_wait_time_seconds_count\{name="builds"\} 2$/m);
    assert.match(text, /^DataKitCI_pool_use_time_seconds_count\{name="builds"\} 2$/m);
  });
});
