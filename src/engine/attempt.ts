// One build of one key, from its transaction to its saved result: what `generate` returned or threw becomes
// a result, whose log and failure are staged and committed with a message that says what happened.
import { DataKitError } from '../shared/errors';
import { CANCELLED_MESSAGE, formatResultMessage, TRAILER, type FailureReason } from '../shared/resultCommit';
import type { StoreTransaction } from '../shared/results';
import type { Transaction } from './builder';
import type { LiveLog } from './liveLog';
import { machine } from './machine';
import type { CacheMetrics } from './metrics';
import { EMPTY, failure, type Failure, type Result, type Saved, type Status } from './status';

export interface AttemptOptions<V> {
  /** The builder's trailers for this key (`Job`, `Source-Commit`…). */
  readonly trailers: Readonly<Record<string, string>>;
  readonly metrics: CacheMetrics | undefined;
  /** The builder's name (the metrics' label). */
  readonly name: string;
  /** The saved status of the commit it made. */
  saved(commit: string, failed: boolean): Saved;
  /** Tells the cache the final status as soon as it is committed (or known to stay uncommitted). */
  publish(status: Status<V>, uncommitted?: boolean): void;
}

export function isCancelled(abort: AbortController): boolean {
  return abort.signal.aborted && DataKitError.is(abort.signal.reason, 'Cancelled');
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) { return e.message || e.name; }
  return String(e);
}

/** How a build that threw `err` ended: cancelled (its signal, or a cancel it met), skipped (a need), or failed. */
export function failureOf(err: unknown, abort: AbortController): Failure {
  if (isCancelled(abort) || DataKitError.is(err, 'Cancelled')) { return failure('cancelled', CANCELLED_MESSAGE); }
  const given = DataKitError.is(err) ? err.data.reason : undefined;
  const reason: FailureReason = given === 'skipped' || given === 'interrupted' ? given : 'failed';
  return failure(reason, messageOf(err));
}

export class Attempt<V> {
  private queuedAt: bigint | undefined;
  private queuedMs: number | undefined;
  /** What `generate` writes through: only under `value/`, and `key.json`. */
  readonly jobTx: Transaction = {
    writeFile: (path, data, mode) => {
      if (!(path.startsWith('value/') && path.length > 'value/'.length) && path !== 'key.json') {
        return Promise.reject(new DataKitError('InvalidPath', `A build may write only under value/ or key.json, not "${path}"`));
      }
      return this.tx.writeFile(path, data, mode);
    },
  };

  constructor(readonly tx: StoreTransaction, private readonly title: string, private readonly log: LiveLog, private readonly abort: AbortController, private readonly options: AttemptOptions<V>) {
    // The seed's transaction: what a previous build left is removed, whatever this one ends with.
    tx.remove('rebuild-requested');
    tx.remove('value');
    tx.remove('failure');
  }

  /** The build now waits for a slot: how long it waits is recorded. */
  queue(): void {
    this.queuedAt = process.hrtime.bigint();
  }

  /** Runs `generate` and saves what it returned or threw. */
  async run(generate: () => Promise<V>): Promise<Status<V>> {
    if (this.queuedAt !== undefined) { this.queuedMs = Number(process.hrtime.bigint() - this.queuedAt) / 1e6; }
    let result: Result<V>;
    try {
      const value = await generate();
      this.log.log('Success');
      this.options.metrics?.buildsSucceeded.inc({ name: this.options.name });
      result = { kind: 'success', value };
    } catch (err) {
      result = this.fail(err);
    }
    return this.save(result);
  }

  /** The failure a thrown error makes, said in the log. */
  fail(err: unknown): Failure {
    const f = failureOf(err, this.abort);
    this.log.log(`Failed: ${f.message}`);
    this.options.metrics?.buildsFailed.inc({ name: this.options.name });
    return f;
  }

  /**
   * Commits the log (and the failure) and publishes the saved status. An interrupted build is no result of its
   * key: nothing is committed, and the next lookup builds it again.
   */
  async save(result: Result<V>): Promise<Status<V>> {
    if (result.kind === 'pending') { throw new TypeError('a pending result is not saved'); }
    if (result.kind === 'failure' && result.reason === 'interrupted') {
      const status: Status<V> = { result, output: EMPTY };
      this.options.publish(status, true);
      return status;
    }
    if (result.kind === 'failure') { await this.tx.writeFile('failure', result.message); }
    await this.tx.writeFile('log', this.log.contents());
    const outcome = result.kind === 'success' ? { kind: 'success' as const } : result;
    const message = formatResultMessage(this.title, outcome, { runMs: this.log.run?.ms, queuedMs: this.queuedMs },
      { ...this.options.trailers, [TRAILER.builtBy]: machine() });
    const commit = await this.tx.commit(message);
    const status: Status<V> = { result, output: { kind: 'saved', saved: this.options.saved(commit, result.kind === 'failure') } };
    this.options.publish(status);
    return status;
  }
}
