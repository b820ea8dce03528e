import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { git, makeRepo, runCli } from '../fixtures/repo.mjs';

/**
 * `unit` passes while src/state.txt says ok; `lint` always fails. Both are built by the command-line tool
 * before the window opens: lint's failure is there from the start.
 */
function makeStatusFixture(dir, cacheDir) {
  const config = { jobs: { unit: { run: 'grep -qx ok src/state.txt && echo tests pass', inputs: ['src'] }, lint: { run: 'echo "style: 1 problem" >&2; exit 1', inputs: ['lint.cfg'] } } };
  makeRepo(dir, [{ message: 'Start', files: { 'src/state.txt': 'ok\n', 'lint.cfg': 'strict\n', '.datakit-ci.json': JSON.stringify(config, null, 2) + '\n' } }]);
  const r = runCli(dir, ['build'], { DATAKIT_CI_CACHE_DIR: cacheDir });
  if (r.code !== 1) { throw new Error(`datakit-ci build ended with ${r.code}, not 1 (lint fails): ${r.err}`); }
  return dir;
}

describe('the status bar', () => {
  let wb;
  let dir;
  let item;
  before(async () => {
    wb = await openWorkbench({ name: 'status-bar', folder: (runDir) => (dir = makeStatusFixture(path.join(runDir, 'ws', 'status'), path.join(runDir, 'build-cache'))) });
    item = wb.page.locator('.part.statusbar .statusbar-item', { hasText: /^DataKit CI:/ });
  });
  after(async () => { await wb?.close(); });

  /** What a person sees of the item: its text (icons as their names), label for screen readers, background. */
  const seen = () => item.evaluate((el) => ({
    text: [...el.querySelector('.statusbar-item-label').childNodes].map((n) => n.nodeType === 3 ? n.textContent : [...n.classList].find((c) => c.startsWith('codicon-') && c !== 'codicon-modifier-spin') ?? '').join('').replace(/\s+/g, ' ').trim(),
    label: el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? el.getAttribute('aria-label'),
    errorKind: el.classList.contains('error-kind'),
    background: getComputedStyle(el).backgroundColor,
  }));

  it('names itself and counts HEAD\'s jobs in icons and in words; a failure there since the window opened is counted, not flagged', async () => {
    await item.waitFor({ timeout: 60_000 });
    const s = await seen();
    assert.equal(s.text, 'DataKit CI: codicon-pass 1 codicon-error 1');
    assert.match(s.label, /^DataKit CI, main @ [0-9a-f]{7}: 1 passed, 1 failed$/);
    assert.equal(s.errorKind, false, 'not on the error background');
    await wb.page.locator('.part.statusbar').screenshot({ path: path.join(path.dirname(await wb.screenshot('status-bar-old-failure-window.png')), 'status-bar-old-failure.png') });
  });

  it('flags a new failure (a job of HEAD that passed fails now) on the error background, with "(1 new)" and its name in words', async () => {
    const before = await seen();
    fs.writeFileSync(path.join(dir, 'src', 'state.txt'), 'broken\n');
    git(dir, 'commit', '-qam', 'Break unit');
    // HEAD moved: its jobs are built (automatic builds); unit fails where it passed.
    await item.filter({ hasText: /\(1 new\)/ }).waitFor({ timeout: 60_000 });
    const s = await seen();
    assert.equal(s.text, 'DataKit CI: codicon-pass 0 codicon-error 2 (1 new)');
    assert.match(s.label, /^DataKit CI, main @ [0-9a-f]{7}: 0 passed, 2 failed\. New failure \(passed before\): unit$/);
    assert.equal(s.errorKind, true, 'on the error background');
    assert.notEqual(s.background, before.background);
    await wb.page.locator('.part.statusbar').screenshot({ path: path.join(path.dirname(await wb.screenshot('status-bar-new-failure-window.png')), 'status-bar-new-failure.png') });
  });
});
