// The Builds view's rows as a person reads them (and hears them): short rows with a cached marker, tooltips
// that lead with the outcome and the first problem, a log titled by what it was built for, "No builds yet"
// under a job never built, a palette that lists only what can act, and the failure notification with its
// first problem and a way to it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { git, makeRepo, runCli } from '../fixtures/repo.mjs';

const UNIT = 'if grep -qx ok src/a.txt; then echo "all tests pass"; else echo "src/a.txt:1:1: error: expected ok, found $(cat src/a.txt)"; exit 1; fi';
const JOBS = { unit: { run: UNIT, inputs: ['src'] }, docs: { run: 'echo docs ok', inputs: ['README.md'] } };

/**
 * Built from the command line at the first commit; the second changes README.md only and adds `lint`: HEAD's
 * unit is a hit on the first commit's result, docs was built for the first commit, lint never.
 */
function makeRowsFixture(dir, cacheDir) {
  makeRepo(dir, [{ message: 'Start', files: { 'src/a.txt': 'ok\n', 'README.md': '# app\n', '.datakit-ci.json': JSON.stringify({ jobs: JOBS }, null, 2) + '\n' } }]);
  const r = runCli(dir, ['build'], { DATAKIT_CI_CACHE_DIR: cacheDir });
  if (r.code !== 0) { throw new Error(`datakit-ci build ended with ${r.code}: ${r.err}`); }
  fs.writeFileSync(path.join(dir, 'README.md'), '# app\n\nNow with docs.\n');
  fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs: { ...JOBS, lint: { run: 'echo lint ok', inputs: ['src'] } } }, null, 2) + '\n');
  git(dir, 'commit', '-qam', 'Docs, and a lint job');
  return dir;
}

describe('the rows of the Builds view', () => {
  let wb;
  let dir;
  let page;
  const row = (label) => wb.row(label);
  const description = (label) => wb.description(label);
  const runCommand = (title) => wb.runCommand(title);

  before(async () => {
    wb = await openWorkbench({ name: 'rows', settings: { 'datakitCi.automaticBuilds': false }, folder: (runDir) => (dir = makeRowsFixture(path.join(runDir, 'ws', 'app'), path.join(runDir, 'cli-cache'))) });
    page = wb.page;
    await page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
    await row(/^unit$/).locator('.codicon-pass').waitFor({ timeout: 60_000 });
  });
  after(async () => { await wb?.close(); });

  it('are short: a reused result is "passed · cached", a job never built says so, and each is heard in words', async () => {
    assert.match(await description(/^unit$/), /^passed · cached · (<1 s|\d+ s) · (just now|1 min ago)$/);
    assert.equal(await description(/^lint$/), 'not built');
    assert.match(await row(/^unit$/).getAttribute('aria-label'), /^unit, passed, cached, (just now|1 minute ago)$/);
    const first = git(dir, 'rev-parse', '--short=7', 'HEAD');
    assert.equal(await row(/^main @ /).getAttribute('aria-label'), `main @ ${first}, HEAD, 1 passed, 2 not built`);
    // Expanded, a job never built says so.
    await row(/^lint$/).locator('.monaco-tl-twistie').click();
    await row(/^No builds yet$/).waitFor({ timeout: 30_000 });
    await wb.screenshot('rows-short.png');
  });

  it('lead their tooltip with the outcome, then where a reused result came from', async (t) => {
    const start = git(dir, 'rev-parse', '--short=7', 'HEAD~1');
    const text = await wb.rowHover(/^unit$/, 'unit passed', t);
    assert.match(text, new RegExp(`^unit passed\\s+Cached · built for ${start}\\.`), text);
    await wb.screenshot('rows-tooltip-cached.png');
    await page.mouse.move(0, 0);
  });

  it('open a reused result\'s log titled with the commit it was built for and the one it is reused for', async () => {
    const [start, head] = [git(dir, 'rev-parse', '--short=7', 'HEAD~1'), git(dir, 'rev-parse', '--short=7', 'HEAD')];
    await row(/^unit$/).locator('.label-name').click();
    const tab = page.locator('.tabs-container .tab.active');
    await tab.filter({ hasText: `unit @ ${start} (reused for ${head}).log` }).waitFor({ timeout: 30_000 });
    await wb.screenshot('rows-log-title-reused.png');
    await page.keyboard.press('Control+W');
  });

  it('list in the palette only the commands that can act: no Cancel when nothing builds, no suggested jobs in a configured repository', async () => {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.fill('>DataKit CI: ');
    const listed = page.locator('.quick-input-list .monaco-list-row');
    await listed.filter({ hasText: 'Build Now' }).first().waitFor({ timeout: 30_000 });
    const titles = (await listed.allInnerTexts()).filter((t) => t.includes('DataKit CI:'));
    assert.ok(titles.some((t) => /Show Log/.test(t)), titles.join(' | '));
    for (const absent of [/Cancel/, /Suggested Jobs/, /Restore Outputs/, /Manage Workspace Trust/, /Open the Configuration Error/]) {
      assert.ok(!titles.some((t) => absent.test(t)), `${absent} is not listed: ${titles.join(' | ')}`);
    }
    await wb.screenshot('rows-palette.png');
    await page.keyboard.press('Escape');
  });

  it('tell a pass → fail of HEAD with its first problem, and Show Problem opens the file at it', async (t) => {
    // Build Now builds what is missing (docs, lint) and keeps unit's hit; then a commit breaks unit.
    await runCommand('DataKit CI: Build Now');
    await row(/^lint$/).locator('.codicon-pass').waitFor({ timeout: 60_000 });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'broken\n');
    git(dir, 'commit', '-qam', 'Break unit');
    const head = git(dir, 'rev-parse', '--short=7', 'HEAD');
    await row(new RegExp(`^main @ ${head}$`)).waitFor({ timeout: 60_000 });
    await runCommand('DataKit CI: Build Now');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'unit failed on' });
    await toast.waitFor({ timeout: 90_000 });
    assert.match(await toast.locator('.notification-list-item-message').innerText(),
      new RegExp(`^DataKit CI: unit failed on main @ ${head} \\(it passed before\\): src/a\\.txt:1:1: expected ok, found broken$`));
    assert.deepEqual(await toast.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts(), ['Show Problem', 'Show Log']);
    await wb.screenshot('rows-failure-notification.png');
    // The row: its failure's first words; its tooltip: the outcome, then the first problem. The toast can come
    // a moment before the view redraws the row (its refresh is batched), so the row is waited for.
    await row(/^unit$/).locator('.codicon-error').waitFor({ timeout: 30_000 });
    assert.match(await description(/^unit$/), /^failed \(exit 1\) · (<1 s|\d+ s) · just now$/);
    assert.equal(await row(/^unit$/).getAttribute('aria-label'), 'unit, failed: Command exited with code 1, just now');
    await toast.getByRole('button', { name: 'Show Problem' }).click();
    await page.locator('.tabs-container .tab.active', { hasText: 'a.txt' }).waitFor({ timeout: 30_000 });
    await page.locator('.panel .markers-panel, .panel [id="workbench.panel.markers"]').first().waitFor({ timeout: 30_000 });
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'expected ok, found broken' }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('rows-show-problem.png');
    assert.match(await wb.rowHover(/^unit$/, 'unit failed', t), /^unit failed: Command exited with code 1\s+First problem: src\/a\.txt:1:1 expected ok, found broken/);
    await wb.screenshot('rows-tooltip-failure.png');
  });
});
