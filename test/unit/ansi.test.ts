import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnsiStripper, colour256, lineStarts, parseAnsi, positionAt, sequenceEnd, stripAnsi, MAX_SEQUENCE } from '../../src/shared/ansi';

const E = '\x1b';

describe('parseAnsi', () => {
  it('returns plain text unchanged, without spans', () => {
    assert.deepEqual(parseAnsi('hello\nworld\n'), { text: 'hello\nworld\n', spans: [] });
    assert.deepEqual(parseAnsi(''), { text: '', spans: [] });
  });

  it('styles basic colours with theme colours, and resets with 0, 39 and an empty SGR', () => {
    assert.deepEqual(parseAnsi(`a${E}[31mred${E}[0m b${E}[42;97mX${E}[39mY${E}[mZ`), {
      text: 'ared bXYZ',
      spans: [
        { start: 1, end: 4, style: { fg: 'terminal.ansiRed' } },
        { start: 6, end: 7, style: { bg: 'terminal.ansiGreen', fg: 'terminal.ansiBrightWhite' } },
        { start: 7, end: 8, style: { bg: 'terminal.ansiGreen' } },
      ],
    });
    assert.deepEqual(parseAnsi(`${E}[30;47mk${E}[90;100mg${E}[37;49mw${E}[107mW`).spans, [
      { start: 0, end: 1, style: { fg: 'terminal.ansiBlack', bg: 'terminal.ansiWhite' } },
      { start: 1, end: 2, style: { fg: 'terminal.ansiBrightBlack', bg: 'terminal.ansiBrightBlack' } },
      { start: 2, end: 3, style: { fg: 'terminal.ansiWhite' } },
      { start: 3, end: 4, style: { fg: 'terminal.ansiWhite', bg: 'terminal.ansiBrightWhite' } },
    ]);
  });

  it('nests attributes and turns each off on its own (22, 23, 24)', () => {
    const text = `${E}[1mB${E}[3mBI${E}[4mBIU${E}[22mIU${E}[23mU${E}[24m-`;
    assert.deepEqual(parseAnsi(text), {
      text: 'BBIBIUIUU-',
      spans: [
        { start: 0, end: 1, style: { bold: true } },
        { start: 1, end: 3, style: { bold: true, italic: true } },
        { start: 3, end: 6, style: { bold: true, italic: true, underline: true } },
        { start: 6, end: 8, style: { italic: true, underline: true } },
        { start: 8, end: 9, style: { underline: true } },
      ],
    });
  });

  it('merges adjacent runs of one style, whatever order it was set in', () => {
    assert.deepEqual(parseAnsi(`${E}[31mab${E}[31mcd${E}[1m${E}[22mef${E}[0m`).spans, [
      { start: 0, end: 6, style: { fg: 'terminal.ansiRed' } },
    ]);
    assert.deepEqual(parseAnsi(`${E}[1;31mab${E}[0m${E}[31;1mcd`).spans, [
      { start: 0, end: 4, style: { bold: true, fg: 'terminal.ansiRed' } },
    ]);
    // No span for a style that covers no text.
    assert.deepEqual(parseAnsi(`${E}[31m${E}[0mx`).spans, []);
  });

  it('maps 256 colours: basic ones to theme colours, the cube and greys to hex', () => {
    assert.deepEqual(parseAnsi(`${E}[38;5;1ma${E}[38;5;9mb${E}[38;5;208mc${E}[48;5;16md${E}[0m${E}[38;5;231me${E}[38;5;232mf${E}[38;5;255mg`).spans, [
      { start: 0, end: 1, style: { fg: 'terminal.ansiRed' } },
      { start: 1, end: 2, style: { fg: 'terminal.ansiBrightRed' } },
      { start: 2, end: 3, style: { fg: '#ff8700' } },
      { start: 3, end: 4, style: { fg: '#ff8700', bg: '#000000' } },
      { start: 4, end: 5, style: { fg: '#ffffff' } },
      { start: 5, end: 6, style: { fg: '#080808' } },
      { start: 6, end: 7, style: { fg: '#eeeeee' } },
    ]);
    assert.equal(colour256(67), '#5f87af');
    assert.equal(colour256(244), '#808080');
  });

  it('takes truecolour with semicolons and with colons, and keeps parsing the parameters after it', () => {
    assert.deepEqual(parseAnsi(`${E}[38;2;255;128;0;1ma${E}[48:2::1:2:3mb${E}[38:2:10:20:30mc${E}[38:5:4md`).spans, [
      { start: 0, end: 1, style: { fg: '#ff8000', bold: true } },
      { start: 1, end: 2, style: { fg: '#ff8000', bold: true, bg: '#010203' } },
      { start: 2, end: 3, style: { fg: '#0a141e', bold: true, bg: '#010203' } },
      { start: 3, end: 4, style: { fg: 'terminal.ansiBlue', bold: true, bg: '#010203' } },
    ]);
    // Out of range or missing components: the colour is ignored, not the text.
    assert.deepEqual(parseAnsi(`${E}[38;2;300;0;0ma${E}[38;5mb${E}[4mc`), {
      text: 'abc',
      spans: [{ start: 2, end: 3, style: { underline: true } }],
    });
  });

  it('ignores SGR codes it does not draw (dim, blink, inverse, strike)', () => {
    assert.deepEqual(parseAnsi(`${E}[2;5;7;9mx${E}[31;7my`), {
      text: 'xy',
      spans: [{ start: 1, end: 2, style: { fg: 'terminal.ansiRed' } }],
    });
  });

  it('removes other sequences: cursor moves, erase, private modes, OSC, DCS, charset, save/restore', () => {
    const text = `${E}[2K${E}[1A${E}[?25l${E}]0;title${'\x07'}a${E}]8;;http://x${E}\\link${E}]8;;${E}\\` +
      `${E}P1$r${E}\\b${E}(B${E}7${E}8c${E}[31;?1mnot-sgr${E}[>4;1m!`;
    assert.deepEqual(parseAnsi(text), { text: 'alinkbcnot-sgr!', spans: [] });
  });

  it('drops a sequence cut off at the end and keeps text after a broken one', () => {
    assert.deepEqual(parseAnsi(`ok${E}[31`), { text: 'ok', spans: [] });
    assert.deepEqual(parseAnsi(`ok${E}`), { text: 'ok', spans: [] });
    assert.deepEqual(parseAnsi(`ok${E}]0;never ends`), { text: 'ok', spans: [] });
    // A control character inside a CSI ends it; the character is text.
    assert.deepEqual(parseAnsi(`a${E}[31\nb`), { text: 'a\nb', spans: [] });
    // An ESC inside an OSC cancels it and starts its own sequence.
    assert.deepEqual(parseAnsi(`a${E}]0;t${E}[32mg`), { text: 'ag', spans: [{ start: 1, end: 2, style: { fg: 'terminal.ansiGreen' } }] });
    // A string sequence that never ends within the limit is not one: only its ESC goes.
    const long = 'x'.repeat(MAX_SEQUENCE);
    assert.equal(parseAnsi(`${E}]${long}\x07`).text, `]${long}\x07`);
  });

  it('counts offsets in UTF-16 code units of the stripped text, with multi-byte characters', () => {
    const text = `é${E}[31m日本${E}[0m😀 ${E}[1m✓ok${E}[0m\n${E}[32mß`;
    const parsed = parseAnsi(text);
    assert.equal(parsed.text, 'é日本😀 ✓ok\nß');
    assert.deepEqual(parsed.spans, [
      { start: 1, end: 3, style: { fg: 'terminal.ansiRed' } },
      { start: 6, end: 9, style: { bold: true } },
      { start: 10, end: 11, style: { fg: 'terminal.ansiGreen' } },
    ]);
    assert.equal(parsed.text.slice(1, 3), '日本');
    assert.equal(parsed.text.slice(6, 9), '✓ok');
  });
});

describe('sequenceEnd', () => {
  it('says where each kind of sequence ends, or -1 when the text ends first', () => {
    assert.equal(sequenceEnd(`${E}[1;31mx`, 0), 7);
    assert.equal(sequenceEnd(`${E}[1;31`, 0), -1);
    assert.equal(sequenceEnd(`${E}]0;t\x07x`, 0), 6);
    assert.equal(sequenceEnd(`${E}]0;t${E}\\x`, 0), 7);
    assert.equal(sequenceEnd(`${E}]0;t${E}`, 0), -1);
    assert.equal(sequenceEnd(`${E}(Bx`, 0), 3);
    assert.equal(sequenceEnd(`${E}(`, 0), -1);
    assert.equal(sequenceEnd(`${E}\n`, 0), 1);
  });
});

describe('AnsiStripper', () => {
  it('holds back a sequence split across chunks', () => {
    const s = new AnsiStripper();
    const out = [s.push(`a${E}`), s.push('[3'), s.push('1mred'), s.push(`${E}]0;ti`), s.push(`tle\x07done${E}[`)];
    s.end();
    assert.deepEqual(out, ['a', '', 'red', '', 'done']);
    assert.equal(s.push('x'), 'x');
  });

  it('stripAnsi drops every sequence', () => {
    assert.equal(stripAnsi(`${E}[1m=== Build${E}[0m\n${E}[31mFailed${E}[0m\n`), '=== Build\nFailed\n');
  });
});

describe('lineStarts / positionAt', () => {
  it('counts \\n, \\r\\n and a lone \\r as line ends, as editors do', () => {
    const text = 'ab\ncd\r\nef\rg';
    const starts = lineStarts(text);
    assert.deepEqual(starts, [0, 3, 7, 10]);
    assert.deepEqual(positionAt(starts, 0), [0, 0]);
    assert.deepEqual(positionAt(starts, 2), [0, 2]);
    assert.deepEqual(positionAt(starts, 3), [1, 0]);
    assert.deepEqual(positionAt(starts, 8), [2, 1]);
    assert.deepEqual(positionAt(starts, 11), [3, 1]);
    assert.deepEqual(lineStarts(''), [0]);
  });
});
