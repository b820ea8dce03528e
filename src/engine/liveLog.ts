// A build's live log (the seed's CI_live_log): append-only text under a memory cap, followed by readers
// without polling, plus the stack of pending reasons that says what the build is waiting for.
import { DataKitError } from './errors';
import { Disposable, Emitter, Event } from './events';

export const DEFAULT_LOG_CAP_BYTES = 16 * 1024 * 1024;
// Small writes are merged up to this size, so a log is a few hundred chunks, not millions of strings.
const CHUNK_BYTES = 64 * 1024;

/** One piece of text; only `text.slice(start)` is still kept (the rest was dropped). */
interface Chunk { text: string; start: number; bytes: number }

/**
 * Walks `s` from `from` by whole code points while the UTF-8 size stays within `limit` bytes, or, with
 * `reach`, until it has reached `limit`. Lone surrogates count 3 bytes, as UTF-8 encoding replaces them.
 */
function walkUtf8(s: string, from: number, limit: number, reach: boolean): { end: number; bytes: number } {
  let i = from;
  let bytes = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let b = 3;
    let units = 1;
    if (c < 0x80) { b = 1; } else if (c < 0x800) { b = 2; } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { b = 4; units = 2; }
    }
    if (reach ? bytes >= limit : bytes + b > limit) { break; }
    bytes += b;
    i += units;
  }
  return { end: i, bytes };
}

// V8 slices share their parent's memory: copy what we keep so a dropped 50 MB write can be freed.
// (Lone surrogates become U+FFFD, as they will in the saved UTF-8 log anyway; lengths are unchanged.)
function detach(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * The text of a log, capped at `cap` UTF-8 bytes: past the cap it keeps a head (about half the cap, cut
 * after a line break when one is in its second half) and a rolling tail (the rest of the cap), with one
 * marker line between them. Offsets are logical: UTF-16 code units ever appended, dropped ones included.
 */
class CappedText {
  length = 0;
  droppedBytes = 0;
  private droppedChars = 0;
  private truncated = false;
  private head = '';
  private tailBudget = 0;
  // Everything (before truncation) or the tail (after); chunks before `first` are gone.
  private chunks: Chunk[] = [];
  private first = 0;
  private bytes = 0;

  constructor(private readonly cap: number) {}

  append(text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.length += text.length;
    this.bytes += bytes;
    const last = this.chunks.length > this.first ? this.chunks[this.chunks.length - 1] : undefined;
    if (last && last.bytes < CHUNK_BYTES && bytes < CHUNK_BYTES) {
      last.text += text;
      last.bytes += bytes;
    } else {
      this.chunks.push({ text, start: 0, bytes });
    }
    if (this.truncated) { this.trimTail(); } else if (this.bytes > this.cap) { this.cutHead(); }
  }

  /**
   * The first time the cap is passed: the first half becomes the head (cut after a line break in its second
   * half when there is one). Only the head is joined and copied; the other chunks stay as they are, so the
   * write that crosses the cap does not rebuild the whole log.
   */
  private cutHead(): void {
    const half = Math.floor(this.cap / 2);
    const pieces: string[] = [];
    let headBytes = 0;
    while (this.first < this.chunks.length) {
      const c = this.chunks[this.first];
      const text = c.start === 0 ? c.text : c.text.slice(c.start);
      if (headBytes + c.bytes <= half) {
        pieces.push(text);
        headBytes += c.bytes;
        this.first++;
        continue;
      }
      const room = half - headBytes;
      // Build output is mostly ASCII: then bytes are characters and there is nothing to walk.
      const taken = c.bytes === text.length ? { end: room, bytes: room } : walkUtf8(text, 0, room, false);
      pieces.push(text.slice(0, taken.end));
      headBytes += taken.bytes;
      c.text = text;
      c.start = taken.end;
      c.bytes -= taken.bytes;
      break;
    }
    let head = pieces.join('');
    const nl = head.lastIndexOf('\n');
    if (nl >= 0 && nl + 1 < head.length && (nl + 1) * 2 >= head.length) {
      const rest = head.slice(nl + 1);
      const restBytes = Buffer.byteLength(rest, 'utf8');
      this.chunks.splice(this.first, 0, { text: rest, start: 0, bytes: restBytes });
      headBytes -= restBytes;
      head = head.slice(0, nl + 1);
    }
    this.head = detach(head);
    this.tailBudget = this.cap - headBytes;
    this.bytes -= headBytes;
    this.truncated = true;
    this.trimTail();
    if (this.chunks.length > this.first) {
      const c = this.chunks[this.first];
      c.text = detach(c.text.slice(c.start));
      c.start = 0;
    }
  }

  /** Drops the oldest tail text until the tail fits its budget; amortised O(bytes dropped). */
  private trimTail(): void {
    let excess = this.bytes - this.tailBudget;
    while (excess > 0) {
      const c = this.chunks[this.first];
      let gone: { end: number; bytes: number };
      if (c.bytes <= excess) {
        gone = { end: c.text.length, bytes: c.bytes };
        this.first++;
      } else if (c.bytes === c.text.length - c.start) {
        gone = { end: c.start + excess, bytes: excess }; // all ASCII: no need to walk characters
      } else {
        gone = walkUtf8(c.text, c.start, excess, true);
      }
      this.droppedChars += gone.end - c.start;
      this.droppedBytes += gone.bytes;
      this.bytes -= gone.bytes;
      excess -= gone.bytes;
      c.bytes -= gone.bytes;
      c.start = gone.end;
      if (c.bytes === 0) {
        c.text = ''; // Frees it now rather than at the next compaction of the array.
        c.start = 0;
      } else if (c.start > CHUNK_BYTES && c.start > c.text.length - c.start) {
        c.text = detach(c.text.slice(c.start));
        c.start = 0;
      }
    }
    if (this.first > 256 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  /** The kept text after the head, compacted into one chunk so repeated reads are cheap. */
  private tail(): string {
    const live = this.chunks.slice(this.first);
    const text = live.map((c) => c.start === 0 ? c.text : c.text.slice(c.start)).join('');
    if (live.length > 1 || (live.length === 1 && live[0].start > 0)) {
      this.chunks = [{ text, start: 0, bytes: this.bytes }];
      this.first = 0;
    }
    return text;
  }

  private marker(): string {
    return `\n[... ${this.droppedBytes} bytes dropped ...]\n`;
  }

  text(): string {
    return this.truncated ? this.head + this.marker() + this.tail() : this.tail();
  }

  /** The text from logical offset `from`; from the marker if `from` was dropped. */
  from(from: number): string {
    if (from >= this.length) { return ''; }
    if (from <= 0) { return this.text(); }
    if (!this.truncated) { return this.tail().slice(from); }
    const tailStart = this.head.length + this.droppedChars;
    if (from >= tailStart) { return this.tail().slice(from - tailStart); }
    const rest = this.marker() + this.tail();
    return from >= this.head.length ? rest : this.head.slice(from) + rest;
  }
}

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

function timestamp(d: Date): string {
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

  private readonly _onDidAppend = new Emitter<{ text: string; offset: number }>();
  /** Every write as it happens, with its logical offset. */
  readonly onDidAppend: Event<{ text: string; offset: number }> = this._onDidAppend.event;
  private readonly _onDidChangePending = new Emitter<string>();
  /** The visible pending reason after each push, pop or visible update. */
  readonly onDidChangePending: Event<string> = this._onDidChangePending.event;
  private readonly _onDidFinish = new Emitter<void>();
  readonly onDidFinish: Event<void> = this._onDidFinish.event;

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
