// The history chart's page as text (the browser test, test/e2e/history.test.mjs, looks at it drawn).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobBuild } from '../../src/jobs/repoJobs';
import { plain } from '../../src/shared/format';
import { chartHtml, describe as label, runTimeTicks, tickLabel } from '../../src/extension/views/historyChartPage';

const T = Date.UTC(2026, 0, 5, 12, 0, 0);

function build(over: Partial<JobBuild> & { finished: number }): JobBuild {
  return { job: 'unit', result: 'success', commit: 'c'.repeat(40), ref: 'refs/heads/shell/unit/x', source: 'a1b2c3d4'.repeat(5), sourceSubject: 'Add the parser', started: over.finished - 1000, runMs: 1000, ...over };
}

/** The attribute `name` of each element that has it, in page order. */
function attrs(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`\\s${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);
}

describe('the history chart\'s page', () => {
  it('draws the builds in the order they finished, whatever order they come in, each sending back its own index', () => {
    const builds = [build({ finished: T + 3000 }), build({ finished: T + 1000 }), build({ finished: T + 2000 })];
    const html = chartHtml('unit', builds, 'n0nce');
    assert.deepEqual(attrs(html, 'data-index'), ['1', '2', '0']);
  });

  it('tells each result by a class of its own (a shape besides a colour), a failure by an ✕ too, and a build of the working tree by one more class', () => {
    const builds = [
      build({ finished: T + 4000, result: 'cancelled', worktree: true }),
      build({ finished: T + 3000, result: 'cancelled' }),
      build({ finished: T + 2000, result: 'failure', failure: 'exit 1' }),
      build({ finished: T + 1000, worktree: true }),
    ];
    const html = chartHtml('unit', builds, 'n0nce');
    const bars = attrs(html, 'class').filter((c) => c.startsWith('build '));
    assert.deepEqual(bars, ['build success worktree', 'build failure', 'build cancelled', 'build cancelled worktree']);
    assert.equal(html.match(/<text class="mark" aria-hidden="true">✕<\/text>/g)?.length, 1);
    assert.match(html, /<li class="key-failure">.*failed \(hatched, ✕\)<\/li>/);
    assert.match(label(builds[0]!), /^working tree on a1b2c3d Add the parser · cancelled · ran 1\.0 s · 2026-01-0\d \d\d:\d\d:\d\d$/);
  });

  it('escapes what a result says and neutralises its control characters before it reaches the page', () => {
    const hostile = build({
      finished: T, result: 'failure',
      sourceSubject: 'Fix </script><img src=x onerror=alert(1)> "quoted"\nsecond line',
      failure: '\x1b[31mred\x1b[0m \u202egnp.exe',
      builtBy: 'me\x00@host',
    });
    const html = chartHtml('unit<b>', [hostile], 'n0nce');
    const text = label(hostile);
    assert.ok(![...text].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f' || c === '\u202e'), text);
    assert.match(text, /^a1b2c3d Fix <\/script><img src=x onerror=alert\(1\)> "quoted" second line · failed: \ufffd\[31mred\ufffd\[0m \ufffdgnp\.exe · /);
    assert.doesNotMatch(html, /<img|<b>|<\/script><img/);
    assert.match(html, /&#60;img src=x onerror=alert\(1\)&#62; &#34;quoted&#34; second line/);
    assert.equal(html.match(/<script/g)?.length, 1, 'the page\'s own script alone');
    assert.match(html, /<h1>unit&#60;b&#62;: one build saved<\/h1>/);
  });

  it('keeps a Content-Security-Policy that lets in its own nonce\'d style and script and nothing else', () => {
    const html = chartHtml('unit', [build({ finished: T })], 'n0nce');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-n0nce'; script-src 'nonce-n0nce'">/);
    assert.deepEqual([...html.matchAll(/<(style|script)([^>]*)>/g)].map((m) => m[2]), [' nonce="n0nce"', ' nonce="n0nce"']);
    assert.doesNotMatch(html, /\s(src|href)=/);
  });

  it('has a run-time axis of at most six round ticks, from 0 to the first at or over the longest run', () => {
    const axis = (max: number): string[] => { const t = runTimeTicks(max); return t.map((ms) => tickLabel(ms, t[1]!)); };
    assert.deepEqual(axis(951), ['0 s', '0.2 s', '0.4 s', '0.6 s', '0.8 s', '1.0 s']);
    assert.deepEqual(axis(95_000), ['0 s', '30 s', '1 min', '1 min 30 s', '2 min']);
    assert.deepEqual(axis(12_000), ['0 s', '5 s', '10 s', '15 s']);
    assert.deepEqual(axis(2.5 * 3_600_000), ['0 s', '30 min', '1 h', '1 h 30 min', '2 h', '2 h 30 min']);
    assert.deepEqual(axis(40), ['0 s', '0.01 s', '0.02 s', '0.03 s', '0.04 s']);
    assert.deepEqual(axis(0), ['0 s', '0.01 s']);
    for (const max of [1, 99, 1000, 61_000, 3_599_999, 86_400_000 * 3]) {
      const t = runTimeTicks(max);
      assert.ok(t.length >= 2 && t.length <= 6 && t[t.length - 1]! >= max, `${max}: ${t}`);
    }
  });

  it('says "no build saved yet" and draws no chart for a job without builds', () => {
    const html = chartHtml('unit', [], 'n0nce');
    assert.match(html, /<h1>unit: no build saved yet<\/h1>/);
    assert.doesNotMatch(html, /id="chart"/);
  });

  it('neutralises control characters: line breaks become spaces, the others a replacement character', () => {
    assert.equal(plain('a\r\nb\tc\x07d\x9be\u2066f'), 'a b c\ufffdd\ufffde\ufffdf');
  });
});
