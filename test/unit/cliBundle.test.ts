// The command line's bundle is ASCII only: Node reads it into a one-byte string. A single other character
// anywhere (a quote mark in a regular expression, which esbuild leaves as written) made the whole source
// a two-byte string, twice the memory, slower to decode on every start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI } from '../fixtures';

describe('the command line\'s bundle', () => {
  it('is ASCII only, so that every start reads it as a one-byte string', () => {
    const text = fs.readFileSync(path.join(path.dirname(CLI), 'cli-main.js'), 'utf8');
    let at = -1;
    for (let i = 0; i < text.length && at < 0; i++) { if (text.charCodeAt(i) > 0x7f) { at = i; } }
    assert.equal(at, -1, `a character beyond ASCII at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 20))}`);
  });
});
