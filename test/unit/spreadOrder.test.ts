// The order in which a runner of a spread commit tries to claim jobs: the longest chain of `needs` first, and
// among equally long chains each runner from a place of its own, so that runners do not all race for one job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobKey } from '../../src/jobs/keys/key';
import { spreadTies } from '../../src/jobs/spread';

/** Stand-ins for keys: spreadTies only orders them by the lengths given. */
const keys = (names: string[]): JobKey[] => names.map((n) => ({ job: { name: n } }) as unknown as JobKey);

describe('the order a runner claims jobs in', () => {
  const ks = keys(['top', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'last']);
  const lengths = new Map(ks.map((k) => [k, k.job.name === 'top' ? 30 : k.job.name === 'last' ? 5 : 10]));
  const names = (runner: string): string[] => spreadTies(ks, lengths, runner).map((k) => k.job.name);

  it('keeps the longest chain first and the shortest last, for every runner', () => {
    for (const r of ['ci-1 pid 10', 'ci-2 pid 11', 'ci-3 pid 12', 'ci-4 pid 13']) {
      const order = names(r);
      assert.equal(order[0], 'top');
      assert.equal(order.at(-1), 'last');
      assert.deepEqual([...order].sort(), ks.map((k) => k.job.name).sort());
    }
  });

  it('turns each run of equally long chains to a place of its own per runner: four runners start at more than one job', () => {
    const firsts = new Set(['ci-1 pid 10', 'ci-2 pid 11', 'ci-3 pid 12', 'ci-4 pid 13'].map((r) => names(r)[1]));
    assert.ok(firsts.size > 1, `every runner goes for ${[...firsts].join(', ')} first`);
    // The same runner always in the same order (a runner's choices are its name's, not chance).
    assert.deepEqual(names('ci-1 pid 10'), names('ci-1 pid 10'));
  });
});
