// A live log's text under a memory cap: past the cap, a head and a rolling tail with a marker between them,
// kept in a few large chunks so that a long build's many small writes stay cheap.

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
export class CappedText {
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
