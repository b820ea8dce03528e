// ANSI escape sequences in build logs: stripped for display, SGR colours kept as styled spans.
// Pure (no vscode): the extension colours logs with it, and the jobs layer strips logs before matching problems.

export interface AnsiStyle {
  /** A theme colour id (`terminal.ansiRed`) for the 16 basic colours, else `#rrggbb`. */
  fg?: string;
  bg?: string;
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
}

/** `[start, end)` in UTF-16 code units of the stripped text. */
export interface AnsiSpan {
  start: number;
  end: number;
  style: AnsiStyle;
}

export interface ParsedAnsi {
  text: string;
  spans: AnsiSpan[];
}

const ESC = '\x1b';
// A sequence that has not ended within this many code units is taken for garbage: only its ESC is
// dropped. It also bounds what a streaming stripper holds back between chunks.
export const MAX_SEQUENCE = 4096;

const BASIC = ['Black', 'Red', 'Green', 'Yellow', 'Blue', 'Magenta', 'Cyan', 'White'];

/** The theme colour of basic colour `n` (0–15: the 8 normal, then the 8 bright ones). */
export function basicColour(n: number): string {
  return `terminal.ansi${n >= 8 ? 'Bright' : ''}${BASIC[n % 8]}`;
}

function hex(r: number, g: number, b: number): string {
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}

const CUBE = [0, 95, 135, 175, 215, 255];

/** xterm's 256-colour palette: 16 basic colours, a 6×6×6 cube, then 24 greys. */
export function colour256(n: number): string {
  if (n < 16) { return basicColour(n); }
  if (n < 232) {
    const i = n - 16;
    return hex(CUBE[Math.floor(i / 36)], CUBE[Math.floor(i / 6) % 6], CUBE[i % 6]);
  }
  const grey = 8 + (n - 232) * 10;
  return hex(grey, grey, grey);
}

/**
 * Where the escape sequence starting at `i` (`text[i]` is ESC) ends: the index after it, or -1 if the
 * text ends first. CSI `ESC [ params intermediates final`; OSC, DCS, SOS, PM, APC end at BEL (OSC only)
 * or ST (`ESC \`); `ESC` + intermediates + final for the rest. Past MAX_SEQUENCE: `i + 1`.
 */
export function sequenceEnd(text: string, i: number): number {
  const limit = Math.min(text.length, i + MAX_SEQUENCE);
  if (i + 1 >= text.length) { return -1; }
  const kind = text[i + 1];
  let j = i + 2;
  if (kind === '[') {
    for (; j < limit; j++) {
      const c = text.charCodeAt(j);
      if (c >= 0x40 && c <= 0x7e) { return j + 1; }
      // Anything but parameter and intermediate bytes breaks the sequence: drop what came before.
      if (c < 0x20 || c > 0x3f) { return j; }
    }
  } else if (kind === ']' || kind === 'P' || kind === 'X' || kind === '^' || kind === '_') {
    for (; j < limit; j++) {
      const c = text[j];
      if (c === '\x07' && kind === ']') { return j + 1; }
      if (c === ESC) {
        if (j + 1 >= text.length) { break; }
        // ST ends the string; any other ESC cancels it and starts a sequence of its own.
        return text[j + 1] === '\\' ? j + 2 : j;
      }
    }
  } else {
    j = i + 1;
    for (; j < limit; j++) {
      const c = text.charCodeAt(j);
      if (c >= 0x30 && c <= 0x7e) { return j + 1; }
      if (c < 0x20 || c > 0x2f) { return j; }
    }
  }
  return limit < i + MAX_SEQUENCE ? -1 : i + 1;
}

/** Applies one SGR sequence's parameters (`"1;31"`, `"38;5;208"`, `"38:2::1:2:3"`) to `s`. */
function applySgr(s: AnsiStyle, params: string): void {
  const list = params === '' ? ['0'] : params.split(';');
  for (let k = 0; k < list.length; k++) {
    const sub = list[k].split(':');
    const code = sub[0] === '' ? 0 : Number(sub[0]);
    if (code === 38 || code === 48) {
      let colour: string | undefined;
      if (sub.length > 1) {
        colour = extendedColour(sub.slice(1), true);
      } else {
        const mode = Number(list[k + 1]);
        const n = mode === 5 ? 1 : mode === 2 ? 3 : 0;
        colour = extendedColour(list.slice(k + 1, k + 2 + n), false);
        k += 1 + n;
      }
      if (colour !== undefined) {
        if (code === 38) { s.fg = colour; } else { s.bg = colour; }
      }
    } else if (code === 0) {
      for (const key of Object.keys(s) as (keyof AnsiStyle)[]) { delete s[key]; }
    } else if (code === 1) { s.bold = true; } else if (code === 3) { s.italic = true; } else if (code === 4) {
      s.underline = true;
    } else if (code === 22) { delete s.bold; } else if (code === 23) { delete s.italic; } else if (code === 24) {
      delete s.underline;
    } else if (code >= 30 && code <= 37) { s.fg = basicColour(code - 30); } else if (code === 39) {
      delete s.fg;
    } else if (code >= 40 && code <= 47) { s.bg = basicColour(code - 40); } else if (code === 49) {
      delete s.bg;
    } else if (code >= 90 && code <= 97) { s.fg = basicColour(code - 90 + 8); } else if (code >= 100 && code <= 107) {
      s.bg = basicColour(code - 100 + 8);
    }
  }
}

/** `[5, n]` or `[2, r, g, b]`; with colons also `[2, colourSpace, r, g, b]`. Undefined if malformed. */
function extendedColour(args: string[], colons: boolean): string | undefined {
  const nums = args.map((a) => (/^\d{1,3}$/.test(a) ? Number(a) : a === '' ? 0 : NaN));
  const ok = (v: number | undefined): v is number => v !== undefined && Number.isInteger(v) && v >= 0 && v <= 255;
  if (nums[0] === 5 && ok(nums[1])) { return colour256(nums[1]); }
  if (nums[0] === 2) {
    const rgb = colons && nums.length >= 5 ? nums.slice(2, 5) : nums.slice(1, 4);
    if (rgb.length === 3 && rgb.every(ok)) { return hex(rgb[0], rgb[1], rgb[2]); }
  }
  return undefined;
}

/** One string per distinct style, whatever order its properties were set in. */
export function styleKey(s: AnsiStyle): string {
  return `${s.fg ?? ''}|${s.bg ?? ''}|${s.bold ? 'b' : ''}${s.italic ? 'i' : ''}${s.underline ? 'u' : ''}`;
}

/** The text without escape sequences, and the styled runs of it (adjacent runs of one style merged). */
export function parseAnsi(text: string): ParsedAnsi {
  const out: string[] = [];
  const spans: AnsiSpan[] = [];
  const style: AnsiStyle = {};
  let key = styleKey(style);
  let offset = 0;
  let lastKey = '';
  const emit = (piece: string): void => {
    if (piece === '') { return; }
    out.push(piece);
    const end = offset + piece.length;
    if (key !== '||') {
      const last = spans[spans.length - 1];
      if (last && last.end === offset && lastKey === key) {
        last.end = end;
      } else {
        spans.push({ start: offset, end, style: { ...style } });
        lastKey = key;
      }
    }
    offset = end;
  };
  let i = 0;
  while (i < text.length) {
    const esc = text.indexOf(ESC, i);
    if (esc < 0) { emit(text.slice(i)); break; }
    emit(text.slice(i, esc));
    const end = sequenceEnd(text, esc);
    if (end < 0) { break; } // An unfinished sequence at the very end: dropped.
    if (end > esc + 2 && text[esc + 1] === '[' && text[end - 1] === 'm') {
      const params = text.slice(esc + 2, end - 1);
      if (/^[\d;:]*$/.test(params)) {
        applySgr(style, params);
        key = styleKey(style);
      }
    }
    i = end;
  }
  return { text: out.join(''), spans };
}

/** Strips escape sequences from a stream of chunks, holding back one split across chunks. */
export class AnsiStripper {
  private carry = '';

  push(chunk: string): string {
    const text = this.carry + chunk;
    this.carry = '';
    const out: string[] = [];
    let i = 0;
    while (i < text.length) {
      const esc = text.indexOf(ESC, i);
      if (esc < 0) { out.push(text.slice(i)); break; }
      out.push(text.slice(i, esc));
      const end = sequenceEnd(text, esc);
      if (end < 0) { this.carry = text.slice(esc); break; }
      i = end;
    }
    return out.join('');
  }

  /** The end of the stream: an unfinished sequence is dropped. */
  end(): void {
    this.carry = '';
  }
}

/** Strips every escape sequence. */
export function stripAnsi(text: string): string {
  return new AnsiStripper().push(text);
}

/**
 * The offset where each line starts, counting lines as editors do: `\r\n`, `\r` and `\n` each end a
 * line — so ranges stay right whatever end-of-line sequence VS Code normalises the text to.
 */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      starts.push(i + 1);
    } else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) { i++; }
      starts.push(i + 1);
    }
  }
  return starts;
}

/** `[line, column]` of `offset`, given `lineStarts(text)`. */
export function positionAt(starts: number[], offset: number): [number, number] {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) { lo = mid; } else { hi = mid - 1; }
  }
  return [lo, offset - starts[lo]];
}

// Control characters a terminal acts on, but for the line breaks and tabs a log is made of (C0, DEL, C1),
// and the bidirectional overrides that reorder what is shown.
// eslint-disable-next-line no-control-regex
const ACTING = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text already stripped of its escape sequences (`parseAnsi`) as an editor may show it: each control character
 * that is not a line break or a tab, and each bidirectional override, replaced by U+FFFD — one code unit for one,
 * so that the styled spans found before stay where they were.
 */
export function inertInEditor(text: string): string {
  return text.replace(ACTING, '\ufffd');
}

/** `\r` alone starts a new line, as the editor shows it; the rest shown as `\u0007` instead of acting. */
function inert(text: string): string {
  return text.replace(/\r(?!\n)/g, '\n').replace(ACTING, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A saved log as it may be printed to a terminal — a fetched result's log is written by whoever made it: its
 * SGR colours kept, every other escape sequence (OSC 8 links, title changes, cursor movement, any other CSI,
 * DCS…) dropped, a lone carriage return made a line break (as the editor shows it), and any other control
 * character (C0 but tab and newline, DEL, C1 such as the one-byte CSI) or bidirectional override shown as
 * `\u009b` rather than acting on the terminal.
 */
export function sgrOnly(text: string): string {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const esc = text.indexOf(ESC, i);
    if (esc < 0) { out.push(inert(text.slice(i))); break; }
    out.push(inert(text.slice(i, esc)));
    const end = sequenceEnd(text, esc);
    if (end < 0) { break; } // An unfinished sequence at the very end: dropped, as parseAnsi does.
    if (end > esc + 2 && text[esc + 1] === '[' && text[end - 1] === 'm' && /^[\d;:]*$/.test(text.slice(esc + 2, end - 1))) {
      out.push(text.slice(esc, end));
    }
    i = end;
  }
  return out.join('');
}
