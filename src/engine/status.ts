// A cache entry's status: the seed's `{ result; output }`, as plain objects.
import { CANCELLED_MESSAGE, type FailureReason } from '../shared/resultCommit';
import type { LiveLog } from './liveLog';

export type Result<V> =
  | { readonly kind: 'success'; readonly value: V }
  | { readonly kind: 'pending'; readonly reason: string; /** Resolves at the next change of reason, or when the result is final. */ readonly changed: Promise<void> }
  | Failure;

/** A build that did not succeed, and why: its own failure, a cancel, or a need that did not pass (see resultCommit.ts). */
export interface Failure {
  readonly kind: 'failure';
  readonly reason: FailureReason;
  readonly message: string;
}

export interface Saved {
  readonly title: string;
  /** The results-repository commit that this build (or this rebuild mark) created. */
  readonly commit: string;
  /** The entry's branch, `refs/heads/<builder>/<entry>`. */
  readonly ref: string;
  readonly failed: boolean;
  /** Whether this cache built it (in this process); false for a result found in the store. */
  readonly built: boolean;
  /** Marks the entry for rebuild (ignored while a build is pending). */
  rebuild(): Promise<RebuildOutcome>;
}

export type Output =
  | { readonly kind: 'empty' }
  | { readonly kind: 'live'; readonly log: LiveLog }
  | { readonly kind: 'saved'; readonly saved: Saved };

export interface Status<V> {
  readonly result: Result<V>;
  readonly output: Output;
}

/** What `markForRebuild` did: marked, ignored while pending, forgot an uncommitted result, or nothing saved. */
export type RebuildOutcome = 'marked' | 'pending' | 'forgotten' | 'not-built';

export const EMPTY: Output = Object.freeze({ kind: 'empty' });

export function failure(reason: FailureReason, message: string): Failure {
  return { kind: 'failure', reason, message };
}

/** The failure of a cancelled build. */
export const CANCELLED: Failure = Object.freeze(failure('cancelled', CANCELLED_MESSAGE));
