// JSON written by someone else (a fetched result's key.json) read with a bound on its nesting: JSON.parse
// itself does not recurse, but what reads the value afterwards does (JSON.stringify, a comparison, a schema),
// and a value nested 100,000 levels deep would overflow the stack there, far from where it was read.
import { DataKitError, type ErrorCode } from './errors';

/** A string, as the scan below reads one: from a quote to the next quote that no backslash escapes. */
const STRINGS = /"(?:[^"\\]|\\[\s\S])*"/g;
const NOT_BRACKETS = /[^[\]{}]/g;

/** Where `text` nests deeper than `max` arrays and objects (its offset), or undefined; strings are skipped. */
export function jsonTooDeep(text: string, max: number): number | undefined {
  // The nesting read off the brackets outside strings, found by the regexp engine rather than by a loop over
  // every character (a cached build reads a key.json of every result): the scan that says where runs only when
  // that nesting could be past the bound. A string left open keeps its brackets here, so it is never under.
  const brackets = text.replace(STRINGS, '').replace(NOT_BRACKETS, '');
  if (brackets.length <= max || deepest(brackets) <= max) { return undefined; }
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: to its closing quote, past escapes
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) { if (text.charCodeAt(i) === 0x5c) { i++; } }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) { return i; }
    } else if (c === 0x5d || c === 0x7d) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** The deepest nesting of a text of brackets only. */
function deepest(brackets: string): number {
  let depth = 0;
  let most = 0;
  for (let i = 0; i < brackets.length; i++) {
    const c = brackets.charCodeAt(i);
    depth = c === 0x5b || c === 0x7b ? depth + 1 : Math.max(0, depth - 1);
    if (depth > most) { most = depth; }
  }
  return most;
}

/** A 1-based line and column of `offset` in `text`. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/**
 * `JSON.parse(text)`, refused with `code` when the text nests deeper than `maxDepth` levels (said with where)
 * or is not JSON. `what` names the text in the message.
 */
export function parseJsonBounded(text: string, what: string, code: ErrorCode, maxDepth = 64): unknown {
  const deep = jsonTooDeep(text, maxDepth);
  if (deep !== undefined) { throw new DataKitError(code, `${what} is nested deeper than ${maxDepth} levels (at ${lineColumn(text, deep)})`); }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataKitError(code, `${what} is not JSON: ${(e as Error).message}`);
  }
}
