// What every screen says the same way: durations (one function, whose units carry), a log's title, the line
// that says where a job ran.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { homeShort, ranIn } from '../../src/engine/liveLog';
import { logTitle } from '../../src/extension/logs/logTitle';
import { seconds } from '../../src/cli/format';
import { duration, plainLines, runDuration } from '../../src/shared/format';

describe('durations', () => {
  it('carry into the next unit when rounding reaches it: 119.6 s is 2 min 0 s, not 1 min 60 s', () => {
    assert.equal(runDuration(119_600), '2 min 0 s');
    assert.equal(runDuration(59_600), '1 min 0 s');
    assert.equal(runDuration(9_960), '10 s');
    assert.equal(runDuration(3_599_600), '1 h 0 min');
    assert.equal(duration(119_600), '2 min 0 s');
    assert.equal(duration(59_700), '1 min 0 s');
  });

  it('say tenths under ten seconds on the command line and in subjects, whole seconds in the tree', () => {
    assert.deepEqual([runDuration(400), runDuration(9_940), runDuration(12_300), runDuration(184_000), runDuration(3_905_000)],
      ['0.4 s', '9.9 s', '12 s', '3 min 4 s', '1 h 5 min']);
    assert.deepEqual([duration(400), duration(1_400), duration(9_960), duration(65_000)], ['<1 s', '1 s', '10 s', '1 min 5 s']);
  });

  it('are the same in the command line\'s tables, with a dash for an unknown one', () => {
    assert.equal(seconds(119_600), runDuration(119_600));
    assert.equal(seconds(null), '-');
    assert.equal(seconds(undefined), '-');
  });
});

describe('a log\'s title, wherever it is opened from', () => {
  const [a, b] = ['2adc093aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'f6543b7bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
  it('names the job and the commit it was built for, or that commit\'s working tree', () => {
    assert.equal(logTitle('lint', { commit: a }), 'lint @ 2adc093');
    assert.equal(logTitle('lint', { commit: a }, { commit: a }), 'lint @ 2adc093', 'shown for the commit it was built for');
    assert.equal(logTitle('lint', { commit: a, worktree: true }, { commit: a, worktree: true }), 'lint · working tree on 2adc093');
  });

  it('says both commits for a result reused for another: the one it was built for first, as its log\'s header', () => {
    assert.equal(logTitle('test', { commit: a }, { commit: b }), 'test @ 2adc093 (reused for f6543b7)');
    assert.equal(logTitle('test', { commit: a, worktree: true }, { commit: a }), 'test · working tree on 2adc093 (reused for 2adc093)');
    assert.equal(logTitle('test', { commit: a }, { commit: a, worktree: true }), 'test @ 2adc093 (reused for working tree on 2adc093)');
    assert.equal(logTitle('test', {}, { commit: b }), 'test (built by another builder)');
  });
});

describe('the line that says where a job ran', () => {
  it('says the home folder as ~, and is read back as the same folder', () => {
    const home = path.join(path.sep, 'home', 'ann');
    const dir = path.join(home, '.cache', 'datakit-ci', 'app-1f2e3d4c', 'work', '9a8b7c6d');
    const short = homeShort(dir, home);
    assert.equal(short, `~${path.sep}${path.join('.cache', 'datakit-ci', 'app-1f2e3d4c', 'work', '9a8b7c6d')}`);
    assert.equal(ranIn(`[2026-12-07 10:00:00] In ${short}`, home), dir);
    assert.equal(homeShort(path.join(path.sep, 'srv', 'ci', 'work'), home), path.join(path.sep, 'srv', 'ci', 'work'), 'a folder outside home as it is');
    assert.equal(homeShort(`${home}x${path.sep}work`, home), `${home}x${path.sep}work`, 'not a folder whose name starts like home\'s');
    assert.equal(ranIn('[2026-12-07 10:00:00] In /srv/ci/work', home), '/srv/ci/work', 'another machine\'s folder as it says');
    assert.equal(ranIn('In /srv/ci/work', home), undefined, 'not the build\'s own line');
  });
});

describe('a problem\'s message from a log', () => {
  it('keeps its lines and shows escape sequences, C1 controls and bidirectional overrides as text, not acted on', () => {
    assert.equal(plainLines('Type \'x\' is wrong\r\n  Expected \u001b]8;;http://evil\u0007y\u001b]8;;\u0007\n\u202Eevil\u009b2J'),
      'Type \'x\' is wrong\n  Expected \ufffd]8;;http://evil\ufffdy\ufffd]8;;\ufffd\n\ufffdevil\ufffd2J');
  });
});
