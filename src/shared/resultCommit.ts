// A result's commit message, written and read here only: a subject that says what happened (`lint @ 3babc64:
// failed after 12 s: Command exited with code 1`), so that `git log` of the results repository reads like a
// CI history, then trailers with what views show without opening the result's tree (how long it ran, who
// built it, for which job and commit). The engine writes it (src/engine/cache.ts), the store reads it back
// (history), the jobs layer reads its trailers (provenance). A round-trip test keeps the two sides together.
import { runDuration } from './format';
import { isObjectId } from './objectId';

/**
 * Why a build did not succeed: its own failure, a cancel, a job it needs that did not pass, or something
 * outside its key that moved under it (a working tree changed while it was copied: `interrupted`, never saved).
 */
export type FailureReason = 'failed' | 'cancelled' | 'skipped' | 'interrupted';

/** How a build ended, as its commit records it. */
export type Outcome = { readonly kind: 'success' } | { readonly kind: 'failure'; readonly reason: FailureReason; readonly message: string };

/** The failure message of a cancelled build (a result like any other, saved with its log). */
export const CANCELLED_MESSAGE = 'Cancelled';
/** A skipped build's message starts so: `Skipped: needs build (failed)`. */
export const SKIPPED_PREFIX = 'Skipped: ';
/** The subject of a rebuild mark, which is not a build. */
export const REBUILD_SUBJECT = 'Marked for rebuild';

/** The trailers a result's message may carry. The builder's own (job, source) and the engine's (the rest). */
export const TRAILER = {
  job: 'Job',
  sourceCommit: 'Source-Commit',
  /** `working tree` for a build of the working tree over `Source-Commit`. */
  source: 'Source',
  runMs: 'Run-Time-Ms',
  queuedMs: 'Queue-Time-Ms',
  builtBy: 'Built-By',
  /** The failure's reason (absent before it was recorded: see `legacyReason`). */
  reason: 'Reason',
} as const;

/** The `Source` trailer of a result built from a working tree. */
export const WORKTREE_SOURCE = 'working tree';

export interface ResultTiming {
  /** How long the build's own work ran (its process), ms. */
  readonly runMs?: number;
  /** How long it waited for a build slot, ms. */
  readonly queuedMs?: number;
}

/** The commit message of a result: subject, then trailers (the builder's, then the engine's). */
export function formatResultMessage(title: string, outcome: Outcome, timing: ResultTiming, trailers: Readonly<Record<string, string>>): string {
  const took = timing.runMs === undefined ? '' : ` ${outcome.kind === 'success' ? 'in' : 'after'} ${runDuration(timing.runMs)}`;
  let subject: string;
  if (outcome.kind === 'success') {
    subject = `${title}: passed${took}`;
  } else if (outcome.reason === 'cancelled') {
    subject = `${title}: cancelled${took}`;
  } else {
    subject = `${title}: failed${took}: ${firstLine(outcome.message)}`;
  }
  const all: Record<string, string> = { ...trailers };
  if (timing.runMs !== undefined) { all[TRAILER.runMs] = String(Math.round(timing.runMs)); }
  if (timing.queuedMs !== undefined) { all[TRAILER.queuedMs] = String(Math.round(timing.queuedMs)); }
  if (outcome.kind === 'failure') { all[TRAILER.reason] = outcome.reason; }
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v.replace(/\n/g, ' ')}`);
  return lines.length > 0 ? `${subject}\n\n${lines.join('\n')}\n` : `${subject}\n`;
}

/** What a result's commit message says. */
export interface ResultMessage {
  readonly subject: string;
  /** `rebuild` for a rebuild mark. */
  readonly result: 'success' | 'failure' | 'rebuild';
  /** A failure's reason and its message's first line, as the subject gives it. */
  readonly reason?: FailureReason;
  readonly failure?: string;
  readonly trailers: Readonly<Record<string, string>>;
  readonly runMs?: number;
  readonly queuedMs?: number;
  readonly builtBy?: string;
  readonly job?: string;
  readonly sourceCommit?: string;
  /** Built from the working tree over `sourceCommit`. */
  readonly worktree: boolean;
}

/** Reads back what `formatResultMessage` wrote, and the subjects of results saved before it. */
export function parseResultMessage(message: string): ResultMessage {
  const subject = message.split('\n', 1)[0]!;
  const trailers = parseTrailers(message);
  const times = timesFromTrailers(trailers);
  const base = {
    subject, trailers, ...times,
    ...(trailers[TRAILER.job] ? { job: trailers[TRAILER.job] } : {}),
    ...(isObjectId(trailers[TRAILER.sourceCommit] ?? '') ? { sourceCommit: trailers[TRAILER.sourceCommit] } : {}),
    worktree: trailers[TRAILER.source] === WORKTREE_SOURCE,
  };
  const outcome = outcomeOfSubject(subject);
  if (outcome.result !== 'failure') { return { ...base, result: outcome.result }; }
  const recorded = trailers[TRAILER.reason];
  const reason = isReason(recorded) ? recorded : legacyReason(outcome.failure);
  return { ...base, result: 'failure', reason, failure: outcome.failure };
}

/** What a subject says happened: the engine's (`…: passed in 2 s`, `…: failed after 3 s: why`, `…: cancelled`) or an older one's. */
function outcomeOfSubject(subject: string): { result: 'success' | 'failure' | 'rebuild'; failure: string } {
  if (subject === REBUILD_SUBJECT) { return { result: 'rebuild', failure: '' }; }
  if (subject === 'Cached successful result' || /: passed( in [^:]+)?$/.test(subject)) { return { result: 'success', failure: '' }; }
  const old = /^Cached failure: (.*)$/.exec(subject);
  if (old) { return { result: 'failure', failure: old[1]! }; }
  if (/: cancelled( after [^:]+)?$/.test(subject)) { return { result: 'failure', failure: CANCELLED_MESSAGE }; }
  const failed = /: failed(?: after [^:]+)?: (.*)$/.exec(subject);
  return { result: 'failure', failure: failed ? failed[1]! : subject };
}

function isReason(v: string | undefined): v is FailureReason {
  return v === 'failed' || v === 'cancelled' || v === 'skipped';
}

/**
 * The reason of a failure saved before reasons were recorded, from its message: the engine's own words for a
 * cancel and a skip, which it always wrote so. Used for those old results only.
 */
export function legacyReason(message: string): FailureReason {
  if (message === CANCELLED_MESSAGE) { return 'cancelled'; }
  return message.startsWith(SKIPPED_PREFIX) ? 'skipped' : 'failed';
}

/**
 * A commit message's trailers: `Name: value` lines of its last paragraph, when every line of it is one
 * (as git's interpret-trailers reads them).
 */
export function parseTrailers(message: string): Record<string, string> {
  const paragraphs = message.replace(/\n+$/, '').split(/\n\n+/);
  if (paragraphs.length < 2) { return {}; }
  const lines = paragraphs[paragraphs.length - 1]!.split('\n');
  const out: Record<string, string> = {};
  for (const line of lines) {
    const m = /^([A-Za-z0-9-]+): ?(.*)$/.exec(line);
    if (!m) { return {}; }
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** The run and queue times and the builder that a result's trailers record. */
export function timesFromTrailers(trailers: Readonly<Record<string, string>>): { runMs?: number; queuedMs?: number; builtBy?: string } {
  const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
  const runMs = num(trailers[TRAILER.runMs]);
  const queuedMs = num(trailers[TRAILER.queuedMs]);
  const builtBy = trailers[TRAILER.builtBy];
  return { ...(runMs !== undefined ? { runMs } : {}), ...(queuedMs !== undefined ? { queuedMs } : {}), ...(builtBy ? { builtBy } : {}) };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}
