// Issue 19 (6), remote text is data: a fetched result's words (its failure message, its Built-By, its log's
// own header lines) are chosen by whoever made it, so escape sequences, C1 controls and bidirectional
// overrides in them are shown, never acted on, by the command line and by the extension's labels.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { JobBuild } from '../../src/jobs/repoJobs';
import { inertInEditor, parseAnsi, sgrOnly } from '../../src/shared/ansi';
import { describe as chartLabel } from '../../src/extension/views/historyChartPage';
import { escapeCell, firstLine, short } from '../../src/extension/tree/labels';
import { ENV, git, gitIn, gitWith, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('remote-text');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An OSC 8 link, a title change, a screen clear and a cursor move, a one-byte C1 CSI, a right-to-left override. */
const HOSTILE = '\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07 \x1b]0;owned\x07\x1b[2J\x1b[1A\x1bP1$q\x1b\\ \u009b31m \u202egnp.exe\u202c';
/** A colour, which a saved log may keep. */
const RED = '\x1b[31mred\x1b[0m';

/** Any character that acts on a terminal or reorders what is shown, but a newline. */
// eslint-disable-next-line no-control-regex
const ACTING = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[\d;:]*m/g;

function assertInert(text: string, what: string): void {
  const m = ACTING.exec(text);
  assert.equal(m, null, `${what} holds U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m?.index}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))}`);
}

describe('a saved log printed to a terminal or shown in the editor keeps its colours only', () => {
  it('sgrOnly keeps SGR colours and drops OSC links and titles, cursor movement, screen clears and DCS', () => {
    const out = sgrOnly(`${HOSTILE}\n${RED}\n`);
    assert.ok(out.includes(RED), 'the colour is kept');
    assert.ok(out.includes('click me'), 'the link\'s text is kept');
    assert.ok(!out.includes('evil.example') && !out.includes('owned'), 'the link\'s target and the title are dropped');
    assertInert(out.replace(SGR, ''), 'the printed log');
    assert.ok(out.includes('\\u009b31m') && out.includes('\\u202egnp.exe'), 'a C1 control and a bidi override are shown as what they are');
  });

  it('sgrOnly keeps tabs and line ends, and makes a lone carriage return a line break as the editor shows it', () => {
    assert.equal(sgrOnly('a\tb\r\nc\rd\n'), 'a\tb\r\nc\nd\n');
    assert.equal(sgrOnly('bell\x07 back\b'), 'bell\\u0007 back\\u0008');
    assert.equal(sgrOnly('cut at the end \x1b]8;;https://e'), 'cut at the end ', 'an unfinished sequence at the very end is dropped');
  });

  it('the editor\'s text of a log has no control character left, one code unit for one so colours stay in place', () => {
    const parsed = parseAnsi(`${HOSTILE} ${RED}`);
    const text = inertInEditor(parsed.text);
    assert.equal(text.length, parsed.text.length);
    assertInert(text.replace(/\t/g, ' '), 'the editor text');
    const span = parsed.spans[0]!;
    assert.equal(text.slice(span.start, span.end), 'red');
  });
});

describe('the extension\'s labels of a result\'s text', () => {
  it('escapeCell, firstLine and short neutralise escape sequences, C1 controls and bidi overrides', () => {
    for (const [name, f] of [['escapeCell', escapeCell], ['firstLine', firstLine], ['short', short]] as const) {
      assertInert(f(HOSTILE), name);
    }
    assert.equal(short('Command exited with code 3'), 'failed (exit 3)');
    assert.equal(firstLine('one\ntwo'), 'one');
  });
});

/** The command line in a clone, with a cache folder of its own. */
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> =>
  runCli(cwd, args, { ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(cwd)}`) });
const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');

/**
 * A remote with one commit whose job `lint` fails; a second clone builds it, then pushes under
 * refs/datakit-ci/… a hand-made result for the same key: its failure message, subject, Built-By trailer and
 * log (its own header lines too) hold HOSTILE.
 */
function forgedRemote(): { victim: string } {
  const seed = path.join(tmp, 'seed');
  fs.mkdirSync(seed);
  git(seed, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(seed, '.datakit-ci.json'), JSON.stringify({ jobs: { lint: { run: 'echo linting; exit 1' } } }));
  git(seed, 'add', '-A');
  git(seed, 'commit', '-qm', 'one');
  const remote = path.join(tmp, 'origin.git');
  git(tmp, 'clone', '-q', '--bare', seed, remote);
  const clone = (name: string): string => { const d = path.join(tmp, name); git(tmp, 'clone', '-q', remote, d); return d; };

  const forger = clone('forger');
  assert.equal(cli(forger, 'build').code, 1);
  const ref = gitIn(results(forger), 'for-each-ref', '--format=%(refname)', 'refs/heads/');
  const real = gitIn(results(forger), 'rev-parse', ref);
  const source = gitIn(results(forger), 'log', '-1', '--format=%(trailers:key=Source-Commit,valueonly)', real).trim();
  const stdin = (input: string, ...args: string[]): string => gitWith({ input }, `--git-dir=${results(forger)}`, ...args);
  const failure = stdin(`${HOSTILE}\nsecond line ${HOSTILE}`, 'hash-object', '-w', '--stdin');
  const log = stdin(`=== lint @ ${HOSTILE}\n[2026-01-01 00:00:00] Running: ${HOSTILE}\n${RED}\nerror: ${HOSTILE}\n[2026-01-01 00:00:00] Failed: ${HOSTILE}\n`, 'hash-object', '-w', '--stdin');
  const entries = gitIn(results(forger), 'ls-tree', real).split('\n').map((l) => {
    const name = l.split('\t')[1];
    return name === 'failure' ? `100644 blob ${failure}\tfailure` : name === 'log' ? `100644 blob ${log}\tlog` : l;
  });
  const tree = stdin(entries.join('\n') + '\n', 'mktree');
  const message = `lint @ ${source.slice(0, 7)}: failed after 0.1 s: ${HOSTILE}\n\nJob: lint\nSource-Commit: \x1b[2J${source}\nBuilt-By: ${HOSTILE} (linux-x64, datakit-ci 0.2.0)\nRun-Time-Ms: 100\nReason: failed\n`;
  const commit = stdin(message, 'commit-tree', tree, '-F', '-');
  gitIn(results(forger), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${ref.slice('refs/heads/'.length)}`);
  return { victim: clone('victim') };
}

describe('a fetched result\'s own words reach a terminal or a label neutralised', () => {
  const { victim } = forgedRemote();

  it('build --fetch, status and history show the hostile failure message and Built-By as text, never acting', () => {
    const built = cli(victim, 'build', '--fetch');
    assert.equal(built.code, 1);
    assert.match(built.out, /✘ lint \(cached failure from .*\): \\u001b\]8;;https:\/\/evil\.example\/\\u0007click me/, 'the forged failure was adopted, and is shown as text');
    assertInert(built.out, 'build --fetch\'s output');
    assertInert(built.err, 'build --fetch\'s errors');
    const status = cli(victim, 'status');
    assert.equal(status.code, 1);
    assert.match(status.out, /built by \\u001b\]8;;https:\/\/evil\.example/, 'Built-By is shown, as text');
    assertInert(status.out, 'status');
    const history = cli(victim, 'history', 'lint');
    assert.equal(history.code, 0);
    assert.match(history.out, /\\u202egnp\.exe/);
    assertInert(history.out, 'history');
  });

  it('log prints the forged log with its colours only: no link, no title, no cursor movement, no C1 control', () => {
    const log = cli(victim, 'log', 'lint');
    assert.equal(log.code, 0);
    assert.ok(log.out.includes(RED), 'its colour is kept');
    assert.match(log.out, /^=== lint @ click me/, 'its header line is there, without the link');
    assert.ok(!log.out.includes('evil.example') && !log.out.includes('owned'));
    assertInert(log.out.replace(SGR, ''), 'log');
  });

  it('the labels the tree, the notification and the chart make of the fetched result are neutralised', () => {
    const job = JSON.parse(cli(victim, 'status', '--json').out).jobs[0] as { message: string; builtBy: string };
    assert.ok(job.message.includes('\x1b]8;;'), '--json gives the result\'s words as data');
    const builds = JSON.parse(cli(victim, 'history', 'lint', '--json').out).builds as (Omit<JobBuild, 'started' | 'finished'> & { started: string; finished: string })[];
    const b = builds[0]!;
    assert.ok(b.builtBy?.includes('\u202e'));
    const build: JobBuild = { ...b, started: Date.parse(b.started), finished: Date.parse(b.finished) };
    for (const [what, text] of [
      ['row description', short(job.message)], ['screen-reader label', firstLine(job.message)], ['tooltip', escapeCell(job.builtBy)],
      ['earlier build\'s row', short(b.failure ?? '')], ['tooltip of an earlier build', escapeCell(b.builtBy ?? '')], ['history chart', chartLabel(build)],
    ] as const) { assertInert(text, what); }
  });
});
