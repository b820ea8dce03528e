// The result commit's message: what the engine writes, the store and the jobs read back (one module).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatResultMessage, legacyReason, parseResultMessage, parseTrailers, TRAILER, WORKTREE_SOURCE, type Outcome } from '../../src/shared/resultCommit';

const TRAILERS = { [TRAILER.job]: 'lint', [TRAILER.sourceCommit]: '3babc64e2f0d5c6b7a8f9e0d1c2b3a4f5e6d7c8b', [TRAILER.builtBy]: 'ci@runner-7 (linux-x64, datakit-ci 0.2.0, GitHub Actions)' };

describe('a result commit\'s message', () => {
  const cases: [string, Outcome, { runMs?: number; queuedMs?: number }][] = [
    ['a success with its times', { kind: 'success' }, { runMs: 12_345, queuedMs: 20 }],
    ['a failure', { kind: 'failure', reason: 'failed', message: 'Command exited with code 1\nmore lines' }, { runMs: 900 }],
    ['a cancel', { kind: 'failure', reason: 'cancelled', message: 'Cancelled' }, { runMs: 61_000 }],
    ['a skip', { kind: 'failure', reason: 'skipped', message: 'Skipped: needs build (failed)' }, {}],
  ];
  for (const [name, outcome, timing] of cases) {
    it(`reads back what it wrote: ${name}`, () => {
      const text = formatResultMessage('lint @ 3babc64', outcome, timing, TRAILERS);
      const back = parseResultMessage(text);
      assert.equal(back.result, outcome.kind);
      if (outcome.kind === 'failure') {
        assert.equal(back.reason, outcome.reason);
        // The subject keeps the message's first line only (the whole message is the result's `failure` file).
        assert.equal(back.failure, outcome.reason === 'cancelled' ? 'Cancelled' : outcome.message.split('\n')[0]);
      } else {
        assert.equal(back.reason, undefined);
      }
      assert.equal(back.job, 'lint');
      assert.equal(back.sourceCommit, TRAILERS[TRAILER.sourceCommit]);
      assert.equal(back.builtBy, TRAILERS[TRAILER.builtBy]);
      assert.equal(back.runMs, timing.runMs);
      assert.equal(back.queuedMs, timing.queuedMs);
      assert.equal(back.worktree, false);
    });
  }

  it('says the outcome in the subject, as a CI history reads', () => {
    assert.equal(formatResultMessage('lint @ 3babc64', { kind: 'success' }, { runMs: 12_345 }, {}).split('\n')[0], 'lint @ 3babc64: passed in 12 s');
    assert.equal(formatResultMessage('lint @ 3babc64', { kind: 'failure', reason: 'failed', message: 'boom' }, { runMs: 400 }, {}).split('\n')[0], 'lint @ 3babc64: failed after 0.4 s: boom');
    assert.equal(formatResultMessage('lint @ 3babc64', { kind: 'failure', reason: 'cancelled', message: 'Cancelled' }, {}, {}), 'lint @ 3babc64: cancelled\n\nReason: cancelled\n');
  });

  it('marks a build of the working tree', () => {
    const text = formatResultMessage('t', { kind: 'success' }, {}, { ...TRAILERS, [TRAILER.source]: WORKTREE_SOURCE });
    assert.equal(parseResultMessage(text).worktree, true);
  });

  it('keeps a trailer value on one line', () => {
    const text = formatResultMessage('t', { kind: 'success' }, {}, { [TRAILER.builtBy]: 'a\nb' });
    assert.deepEqual(parseTrailers(text), { [TRAILER.builtBy]: 'a b' });
  });

  it('reads the results saved before reasons were recorded by their own words', () => {
    assert.deepEqual(pick(parseResultMessage('Cached failure: boom')), { result: 'failure', reason: 'failed', failure: 'boom' });
    assert.deepEqual(pick(parseResultMessage('lint @ 1: cancelled after 2 s\n\nJob: lint\n')), { result: 'failure', reason: 'cancelled', failure: 'Cancelled' });
    assert.deepEqual(pick(parseResultMessage('t @ 1: failed: Skipped: needs build (failed)\n\nJob: t\n')), { result: 'failure', reason: 'skipped', failure: 'Skipped: needs build (failed)' });
    assert.deepEqual(pick(parseResultMessage('Cached successful result')), { result: 'success', reason: undefined, failure: undefined });
    assert.deepEqual(pick(parseResultMessage('Marked for rebuild')), { result: 'rebuild', reason: undefined, failure: undefined });
    assert.equal(legacyReason('Skipped: needs x (cancelled)'), 'skipped');
  });

  it('takes no paragraph of the body for trailers unless every line of it is one', () => {
    assert.deepEqual(parseTrailers('subject\n\nJob: a\nnot a trailer\n'), {});
    assert.deepEqual(parseTrailers('subject only\n'), {});
  });
});

function pick(m: ReturnType<typeof parseResultMessage>): { result: string; reason: string | undefined; failure: string | undefined } {
  return { result: m.result, reason: m.reason, failure: m.failure };
}
