// Where each job broke on a range: the oldest commit where it fails right after a pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstFailing, verdictOf, type Verdict } from '../../src/jobs/firstFailing';

/** Rows newest first from a table of `job: verdicts oldest → newest` (P passed, F failed, ? unknown). */
function rowsOf(table: Record<string, string>): { commit: string; verdicts: Map<string, Verdict> }[] {
  const n = Math.max(...Object.values(table).map((t) => t.length));
  const v = (c: string): Verdict => (c === 'P' ? 'passed' : c === 'F' ? 'failed' : 'unknown');
  const rows = Array.from({ length: n }, (_, i) => ({ commit: `c${i + 1}`, verdicts: new Map(Object.entries(table).map(([job, t]) => [job, v(t[i] ?? '?')])) }));
  return rows.reverse();
}

describe('first failing, per job', () => {
  it('marks the commit that broke each job, not the first commit of a branch whose base already fails another', () => {
    // lint fails on the base and all along; docs passes until c3.
    const r = firstFailing(rowsOf({ lint: 'FFFF', docs: 'PPFF' }), new Map([['lint', 'failed'], ['docs', 'passed']]));
    assert.deepEqual(r.byJob.get('lint'), { kind: 'alreadyFailing' });
    assert.deepEqual(r.byJob.get('docs'), { kind: 'broke', commit: 'c3' });
    assert.equal(r.overall, 'c3', 'the overall first failing is where something broke, not c1');
  });

  it('finds a break after a fix, even for a job that failed at the base', () => {
    const r = firstFailing(rowsOf({ lint: 'FPF' }), new Map([['lint', 'failed']]));
    assert.deepEqual(r.byJob.get('lint'), { kind: 'broke', commit: 'c3' });
  });

  it('reads past commits where the job was not built (unknown) to the last one that was', () => {
    const r = firstFailing(rowsOf({ test: 'P??F' }), new Map([['test', 'passed']]));
    assert.deepEqual(r.byJob.get('test'), { kind: 'broke', commit: 'c4' });
  });

  it('says when what came before the first failure is unknown: the base never built', () => {
    const r = firstFailing(rowsOf({ test: 'FF' }), undefined);
    assert.deepEqual(r.byJob.get('test'), { kind: 'brokeAfterUnknown', commit: 'c1' });
    assert.equal(r.overall, 'c1');
  });

  it('prefers a known break to an unknown one, and leaves passing jobs out', () => {
    const r = firstFailing(rowsOf({ test: 'FPF', ok: 'PPP' }), undefined);
    assert.deepEqual(r.byJob.get('test'), { kind: 'broke', commit: 'c3' });
    assert.equal(r.byJob.has('ok'), false);
  });

  it('takes a cancelled or skipped build for unknown, not a failure', () => {
    assert.equal(verdictOf({ kind: 'failure', reason: 'cancelled' }), 'unknown');
    assert.equal(verdictOf({ kind: 'failure', reason: 'skipped' }), 'unknown');
    assert.equal(verdictOf({ kind: 'failure', reason: 'failed' }), 'failed');
    assert.equal(verdictOf({ kind: 'success' }), 'passed');
    assert.equal(verdictOf(undefined), 'unknown');
  });
});
