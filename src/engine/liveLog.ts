// A build's live log (the seed's CI_live_log): append-only text under a memory cap, followed by readers
// without polling, plus the stack of pending reasons that says what the build is waiting for.
import os = require('node:os');
import path = require('node:path');
import { CappedText } from './cappedText';
import { DataKitError } from '../shared/errors';
import { Disposable, Emitter, Event } from '../shared/events';
import { Flow } from './flow';

export const DEFAULT_LOG_CAP_BYTES = 16 * 1024 * 1024;

/** A pushed pending reason: `update` replaces it in place, `dispose` pops it. */
export interface PendingReason extends Disposable {
  update(reason: string): void;
}

export interface LiveLogOptions {
  /** Memory cap in UTF-8 bytes (default 16 MiB). */
  capBytes?: number;
  /** The clock of `log` timestamps (tests fix it). */
  now?: () => Date;
  /** The base pending reason (default `Running`). */
  pending?: string;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as the seed's log lines. */
/** A line the build writes itself (`log`): its timestamp in brackets first. */
export const OWN_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] /;

/**
 * The build's own line naming the folder the command ran in (`[time] In /…/work/3f9c`): where the log's
 * absolute paths start, on whatever machine it ran (a result fetched from a CI runner included).
 */
export const RAN_IN_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] In (.+)$/;

/** A folder as the `In` line says it: the home folder as `~` (the line is read by people first). */
export function homeShort(dir: string, home: string = os.homedir()): string {
  return home.length > 1 && dir.startsWith(home + path.sep) ? `~${dir.slice(home.length)}` : dir;
}

/** The folder an `In` line names, `~` read as this machine's home folder; undefined for any other line. */
export function ranIn(line: string, home: string = os.homedir()): string | undefined {
  const dir = RAN_IN_LINE.exec(line)?.[1];
  if (dir === undefined) { return undefined; }
  return /^~[/\\]/.test(dir) ? home + dir.slice(1) : dir;
}

export function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The live log of one build. Writes after `finish()` are ignored: a killed process may still flush
 * output after its build has ended, and that must neither fail nor alter the saved log.
 */
export class LiveLog {
  private readonly buffer: CappedText;
  private readonly now: () => Date;
  private endsWithNewline = true;
  private _finished = false;
  private basePending: string;
  private readonly pendingStack: { reason: string }[] = [];
  private pendingWaiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private runTimes: { startedAt: number; start: bigint; ms?: number } | undefined;

  private readonly _onDidAppend = new Emitter<{ text: string; offset: number }>();
  /** Every write as it happens, with its logical offset. */
  readonly onDidAppend: Event<{ text: string; offset: number }> = this._onDidAppend.event;
  private readonly _onDidChangePending = new Emitter<string>();
  /** The visible pending reason after each push, pop or visible update. */
  readonly onDidChangePending: Event<string> = this._onDidChangePending.event;
  private readonly _onDidFinish = new Emitter<void>();
  readonly onDidFinish: Event<void> = this._onDidFinish.event;
  /** Held by a reader that cannot keep up; the writer waits for it (see flow.ts). */
  readonly flow = new Flow();

  constructor(readonly entry: string, readonly title: string, options: LiveLogOptions = {}) {
    this.buffer = new CappedText(options.capBytes ?? DEFAULT_LOG_CAP_BYTES);
    this.now = options.now ?? (() => new Date());
    this.basePending = options.pending ?? 'Running';
  }

  get finished(): boolean { return this._finished; }
  /** UTF-16 code units written so far, dropped ones included. */
  get length(): number { return this.buffer.length; }
  /** UTF-8 bytes dropped by the memory cap. */
  get droppedBytes(): number { return this.buffer.droppedBytes; }

  write(text: string): void {
    if (this._finished || text === '') { return; }
    const offset = this.buffer.length;
    this.buffer.append(text);
    this.endsWithNewline = text.endsWith('\n');
    this._onDidAppend.fire({ text, offset });
  }

  /** `[YYYY-MM-DD HH:MM:SS] line` in local time, on a line of its own. */
  log(line: string): void {
    this.write(`${this.endsWithNewline ? '' : '\n'}[${timestamp(this.now())}] ${line}\n`);
  }

  /** `=== title`, after a blank line unless the log is empty. */
  heading(title: string): void {
    const before = this.buffer.length === 0 ? '' : this.endsWithNewline ? '\n' : '\n\n';
    this.write(`${before}=== ${title}\n`);
  }

  /** Head, marker and tail if the cap was reached: what is saved. */
  contents(): string { return this.buffer.text(); }

  /**
   * Calls `listener` synchronously, before returning, with everything from logical offset `from` (from
   * the marker if that part was dropped), then with each later write as it happens, until disposed or
   * finished.
   */
  subscribe(from: number, listener: (chunk: string) => void): Disposable {
    let next = Math.max(from, this.buffer.length);
    const initial = this.buffer.from(from);
    // Registered first, so a write made by the listener itself is delivered after `initial`.
    const sub = this._finished ? { dispose: (): void => undefined } : this._onDidAppend.event(({ text, offset }) => {
      const end = offset + text.length;
      if (end <= next) { return; }
      const chunk = offset >= next ? text : text.slice(next - offset);
      next = end;
      listener(chunk);
    });
    if (initial !== '') {
      try { listener(initial); } catch (e) { sub.dispose(); throw e; }
    }
    return sub;
  }

  finish(): void {
    if (this._finished) { return; }
    this._finished = true;
    this.flow.release();
    this.pendingWaiter?.resolve();
    this.pendingWaiter = undefined;
    this._onDidFinish.fire();
    this._onDidAppend.dispose();
    this._onDidChangePending.dispose();
    this._onDidFinish.dispose();
  }

  pendingReason(): string {
    return this.pendingStack.length > 0 ? this.pendingStack[this.pendingStack.length - 1].reason : this.basePending;
  }

  setBasePendingReason(reason: string): void {
    const visible = this.pendingStack.length === 0 && reason !== this.basePending;
    this.basePending = reason;
    if (visible) { this.notifyPending(); }
  }

  /** Pushes a reason until the handle is disposed (other reasons pushed meanwhile may be popped first). */
  pushPendingReason(reason: string): PendingReason {
    const item = { reason };
    this.pendingStack.push(item);
    this.notifyPending();
    return {
      update: (r) => {
        if (item.reason === r) { return; }
        item.reason = r;
        if (this.pendingStack[this.pendingStack.length - 1] === item) { this.notifyPending(); }
      },
      dispose: () => {
        const i = this.pendingStack.indexOf(item);
        if (i < 0) { return; }
        this.pendingStack.splice(i, 1);
        this.notifyPending();
      },
    };
  }

  async withPendingReason<T>(reason: string, fn: () => Promise<T>): Promise<T> {
    const handle = this.pushPendingReason(reason);
    try { return await fn(); } finally { handle.dispose(); }
  }

  /**
   * Runs the build's own work (its process), with the pending reason `Running`: what it takes is the
   * build's duration, apart from what it waited for before (a slot, what it needs, the setup).
   */
  async whileRunning<T>(fn: () => Promise<T>): Promise<T> {
    const run = { startedAt: this.now().getTime(), start: process.hrtime.bigint(), ms: undefined as number | undefined };
    this.runTimes = run;
    try {
      return await this.withPendingReason('Running', fn);
    } finally {
      run.ms = Number(process.hrtime.bigint() - run.start) / 1e6;
    }
  }

  /** When `whileRunning` started (ms since the epoch) and, once it ended, how long it ran; undefined if it never did. */
  get run(): { readonly startedAt: number; readonly ms?: number } | undefined {
    return this.runTimes && { startedAt: this.runTimes.startedAt, ms: this.runTimes.ms };
  }

  /** Resolves at the next change of the pending reason, or at finish (at once if finished). */
  pendingChanged(): Promise<void> {
    if (this._finished) { return Promise.resolve(); }
    if (!this.pendingWaiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      this.pendingWaiter = { promise, resolve };
    }
    return this.pendingWaiter.promise;
  }

  private notifyPending(): void {
    if (this._finished) { return; }
    const waiter = this.pendingWaiter;
    this.pendingWaiter = undefined;
    waiter?.resolve();
    this._onDidChangePending.fire(this.pendingReason());
  }
}

export interface LogManagerOptions {
  /** Memory cap of each log in UTF-8 bytes (default 16 MiB). */
  capBytes?: number;
  now?: () => Date;
}

/** The live logs of one cache: at most one unfinished log per entry; finished logs are forgotten. */
export class LogManager {
  private readonly live = new Map<string, LiveLog>();
  private readonly _onDidCreate = new Emitter<LiveLog>();
  readonly onDidCreate: Event<LiveLog> = this._onDidCreate.event;

  constructor(private readonly options: LogManagerOptions = {}) {}

  /** `entry` is the entry's full id (`<builder>/<entry>`). Throws `LogCollision` if it has a live log. */
  create(entry: string, title: string, opts: { pending?: string } = {}): LiveLog {
    const existing = this.live.get(entry);
    if (existing) {
      throw new DataKitError('LogCollision', `Entry ${entry} already has a live log ("${existing.title}"): only one build of an entry may run at a time`);
    }
    const log = new LiveLog(entry, title, { capBytes: this.options.capBytes, now: this.options.now, pending: opts.pending });
    this.live.set(entry, log);
    log.onDidFinish(() => { if (this.live.get(entry) === log) { this.live.delete(entry); } });
    this._onDidCreate.fire(log);
    return log;
  }

  /** The entry's unfinished log, if any. */
  get(entry: string): LiveLog | undefined { return this.live.get(entry); }

  /** All unfinished logs. */
  all(): LiveLog[] { return [...this.live.values()]; }

  dispose(): void { this._onDidCreate.dispose(); }
}
