// growingLru: an LRU cache bounded by a number of entries, like lru-cache's `max`, that does not allocate its
// slots up front (which cost every command's start for caches that hold a few dozen entries).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growingLru } from '../../src/shared/lazy';

describe('growingLru', () => {
  it('keeps at most its number of entries, dropping the one used longest ago, and takes a ttl for one', () => {
    const cache = growingLru<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c'].entries()) { cache.set(k, i); }
    assert.equal(cache.get('a'), 0); // a is now the most recently used
    cache.set('d', 3);
    assert.deepEqual([...cache.keys()].sort(), ['a', 'c', 'd'], 'b, used longest ago, was dropped');
    for (let i = 0; i < 100; i++) { cache.set(`k${i}`, i); }
    assert.equal(cache.size, 3);
    cache.set('timed', 1, { ttl: 60_000 });
    const left = cache.getRemainingTTL('timed');
    assert.ok(left > 0 && left <= 60_000, `a ttl is kept (${left} ms left)`);
    assert.equal(cache.getRemainingTTL('k99'), Infinity, 'none for the others');
  });
});
