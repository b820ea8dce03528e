// A small reader of the parts of TOML that the suggestions need (Cargo.toml, pyproject.toml): table headers,
// and keys whose values are strings or arrays of strings (on one line or several). Any other value (numbers,
// inline tables, multi-line strings) is kept as its raw text, so a key is still known to be there. Not a
// validator: a line it cannot read is reported, never guessed at.

/** A value: a string, the strings of an array (its other items left out), or another value's raw text. */
export type TomlValue = string | string[] | { readonly raw: string };

export interface TomlTables {
  /** By table name (`project.optional-dependencies`; '' for the top level), each key (dotted keys joined with `.`) and its value. */
  readonly tables: Map<string, Map<string, TomlValue>>;
  /** The 1-based lines that could not be read. */
  readonly unread: number[];
}

const BARE = /^[A-Za-z0-9_-]+/;

/** The tables of `text`. */
export function readToml(text: string): TomlTables {
  const tables = new Map<string, Map<string, TomlValue>>([['', new Map()]]);
  const unread: number[] = [];
  const lines = text.split(/\r?\n/);
  let table = tables.get('')!;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) { continue; }
    const header = /^\[\[?(.*?)\]\]?\s*(#.*)?$/.exec(line);
    if (header && line.startsWith('[')) {
      const name = dottedKey(header[1].trim());
      if (name === undefined) { unread.push(i + 1); continue; }
      table = tables.get(name.key) ?? new Map<string, TomlValue>();
      tables.set(name.key, table);
      continue;
    }
    const key = dottedKey(line);
    const eq = key && /^\s*=\s*/.exec(line.slice(key.end));
    if (!key || !eq) { unread.push(i + 1); continue; }
    let rest = line.slice(key.end + eq[0].length);
    // An array, an inline table or a multi-line string may go on over the next lines: each line scanned once
    // (scanning all that was read again for each line took minutes for a list of 100,000 lines).
    const start = i;
    let state = advance({ depth: 0 }, rest);
    while (!done(state) && i + 1 < lines.length) {
      const more = `\n${lines[++i]}`;
      rest += more;
      state = advance(state, more);
    }
    const value = readValue(rest);
    if (value === undefined) { unread.push(start + 1); continue; }
    table.set(key.key, value);
  }
  return { tables, unread };
}

/** A key (bare or quoted parts joined by `.`) at the start of `s`, and where it ends. */
function dottedKey(s: string): { key: string; end: number } | undefined {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    while (s[at] === ' ' || s[at] === '\t') { at++; }
    const quoted = s[at] === '"' || s[at] === "'" ? readString(s, at) : undefined;
    const bare = quoted ? undefined : BARE.exec(s.slice(at));
    if (quoted) { parts.push(quoted.value); at = quoted.end; } else if (bare) { parts.push(bare[0]); at += bare[0].length; } else { return undefined; }
    let after = at;
    while (s[after] === ' ' || s[after] === '\t') { after++; }
    if (s[after] !== '.') { return { key: parts.join('.'), end: at }; }
    at = after + 1;
  }
}

/** A one-line string (basic or literal) starting at `at`: its value and the index after its closing quote. */
function readString(s: string, at: number): { value: string; end: number } | undefined {
  const q = s[at];
  let value = '';
  for (let i = at + 1; i < s.length; i++) {
    const c = s[i];
    if (c === q) { return { value, end: i + 1 }; }
    if (c === '\n') { return undefined; }
    if (c === '\\' && q === '"') {
      const e = s[++i];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', b: '\b', f: '\f' };
      if (e in simple) { value += simple[e]; continue; }
      const hex = e === 'u' ? s.slice(i + 1, i + 5) : e === 'U' ? s.slice(i + 1, i + 9) : '';
      if (!/^[0-9A-Fa-f]+$/.test(hex) || (e === 'u' ? 4 : 8) !== hex.length) { return undefined; }
      value += String.fromCodePoint(parseInt(hex, 16));
      i += hex.length;
      continue;
    }
    value += c;
  }
  return undefined;
}

/**
 * `s` without its comments, strings left whole; `open` while a multi-line string is, `bad` for a one-line
 * string not closed on its line (it cannot go on over the next).
 */
function scan(s: string): { text: string; depth: number; open: boolean; bad?: true } {
  let depth = 0;
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (s.startsWith('"""', i) || s.startsWith("'''", i)) {
      const close = s.indexOf(s.slice(i, i + 3), i + 3);
      if (close < 0) { return { text, depth, open: true }; }
      text += s.slice(i, close + 3);
      i = close + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      const str = readString(s, i);
      if (!str) { return { text, depth, open: false, bad: true }; }
      text += s.slice(i, str.end);
      i = str.end - 1;
      continue;
    }
    if (c === '#') { while (i < s.length && s[i] !== '\n') { i++; } text += '\n'; continue; }
    if (c === '[' || c === '{') { depth++; }
    if (c === ']' || c === '}') { depth--; }
    text += c;
  }
  return { text, depth, open: false };
}

/** Where a value read so far stands: brackets open, inside a multi-line string (its delimiter), or broken. */
interface ScanState {
  readonly depth: number;
  readonly open?: string;
  readonly bad?: true;
}

/** The state after `s`, read on from `st` (as `scan` reads the whole, but only the new part). */
function advance(st: ScanState, s: string): ScanState {
  let depth = st.depth;
  let i = 0;
  if (st.open !== undefined) {
    const close = s.indexOf(st.open);
    if (close < 0) { return st; }
    i = close + 3;
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if (s.startsWith('"""', i) || s.startsWith("'''", i)) {
      const delimiter = s.slice(i, i + 3);
      const close = s.indexOf(delimiter, i + 3);
      if (close < 0) { return { depth, open: delimiter }; }
      i = close + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      const str = readString(s, i);
      if (!str) { return { depth, bad: true }; }
      i = str.end - 1;
      continue;
    }
    if (c === '#') { while (i < s.length && s[i] !== '\n') { i++; } continue; }
    if (c === '[' || c === '{') { depth++; }
    if (c === ']' || c === '}') { depth--; }
  }
  return { depth };
}

/** Whether the value is complete (or cannot become so by reading more lines). */
function done(st: ScanState): boolean {
  return st.bad === true || (st.open === undefined && st.depth <= 0);
}

/** The value written in `s` (comments allowed), or undefined when it is not complete TOML as far as read. */
function readValue(s: string): TomlValue | undefined {
  const { text, depth, open, bad } = scan(s);
  if (bad || open || depth !== 0) { return undefined; }
  const v = text.trim();
  if (v.startsWith('"') && !v.startsWith('"""') || v.startsWith("'") && !v.startsWith("'''")) {
    const str = readString(v, 0);
    return str && v.slice(str.end).trim() === '' ? str.value : undefined;
  }
  if (v.startsWith('[')) { return arrayStrings(v); }
  return v === '' ? undefined : { raw: v };
}

/** The strings among an array's top-level items. */
function arrayStrings(v: string): string[] | undefined {
  if (!v.endsWith(']')) { return undefined; }
  const out: string[] = [];
  let depth = 0;
  for (let i = 1; i < v.length - 1; i++) {
    const c = v[i];
    if (c === '"' || c === "'") {
      const multi = v.startsWith(c.repeat(3), i);
      if (multi) { const close = v.indexOf(c.repeat(3), i + 3); i = close + 2; continue; }
      const str = readString(v, i);
      if (!str) { return undefined; }
      if (depth === 0) { out.push(str.value); }
      i = str.end - 1;
      continue;
    }
    if (c === '[' || c === '{') { depth++; }
    if (c === ']' || c === '}') { depth--; }
  }
  return out;
}

/** A table's key as a list of strings (a single string as one; anything else as none). */
export function stringsOf(v: TomlValue | undefined): string[] {
  return typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
}
