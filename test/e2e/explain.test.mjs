// Explain Key as a person reaches it after the most natural workflow: edit a file in the editor, build the
// working tree, ask why its job has a new key. The page shows the edited file under what changed.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { git, makeRepo } from '../fixtures/repo.mjs';

describe('Explain Key in the workbench', () => {
  let wb;
  let dir;
  before(async () => {
    const config = { jobs: { check: { run: 'cat src/*.txt', inputs: ['src'] } } };
    wb = await openWorkbench({
      name: 'explain',
      settings: { 'datakitCi.automaticBuilds': true },
      folder: (runDir) => (dir = makeRepo(path.join(runDir, 'ws', 'app'), [{ message: 'App', files: { 'src/app.txt': 'first\n', 'src/util.txt': 'util\n', '.datakit-ci.json': JSON.stringify(config, null, 2) } }])),
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  });
  after(async () => { await wb?.close(); });

  /**
   * Right-click `row` → Explain Key, once the view fetches no rows (VS Code drops a context-menu command's
   * argument when the tree refreshes then), until the page titled `tab` is in front and drawn.
   */
  async function explainFromMenu(row, tab) {
    const { page } = wb;
    await wb.sideBarIdle();
    const fetches = await wb.sideBarFetches();
    await row.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.waitFor({ timeout: 30_000 });
    await menu.getByRole('menuitem', { name: /^Explain Key/ }).hover();
    await page.keyboard.press('Enter');
    const drawn = page.locator('.tabs-container .tab.active', { hasText: tab });
    const pick = page.locator('.quick-input-widget input[placeholder^="Pick a job"]');
    // A webview's first start in a cold workbench on a busy machine can take tens of seconds.
    const shown = await Promise.race([
      drawn.waitFor({ timeout: 90_000 }).then(() => 'page', () => 'nothing'),
      pick.waitFor({ timeout: 90_000 }).then(() => 'pick', () => 'nothing'),
    ]);
    if (shown === 'pick') {
      await wb.screenshot('explain-pick-a-job.png');
      assert.fail(`Explain Key from the row's context menu asked to "Pick a job": the command lost its row (the side bar fetched rows ${await wb.sideBarFetches() - fetches} times since the right-click).`);
    }
    assert.equal(shown, 'page', 'the Explain Key page was shown within 90 s');
    await page.frameLocator('iframe.webview.ready').frameLocator('#active-frame').locator('h1').waitFor({ timeout: 90_000 });
  }

  it('Explain after a working-tree build: the edited file under what changed, no error', async () => {
    const { page } = wb;
    const sidebar = page.locator('.part.sidebar');
    const rows = (label) => sidebar.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: label }) });
    // HEAD's check, built at start: the build to compare with.
    await rows(/^check$/).first().locator('.codicon-pass').waitFor({ timeout: 60_000 });

    // Edit src/app.txt in the editor and save it.
    await page.keyboard.press('Control+P');
    const quickOpen = page.locator('.quick-input-widget input');
    await quickOpen.waitFor({ timeout: 30_000 });
    await quickOpen.fill('app.txt');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'app.txt' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab.active', { hasText: 'app.txt' }).waitFor({ timeout: 30_000 });
    await page.locator('.editor-instance .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('edited in the workbench');
    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 30_000 });

    // Build the Working Tree, from its row's button.
    const worktree = rows(/^Working tree/);
    await worktree.waitFor({ timeout: 60_000 });
    assert.match(await worktree.innerText(), /1 changed file/);
    await worktree.hover();
    await worktree.getByRole('button', { name: 'Build the Working Tree' }).click();
    // Its jobs, shown: the working tree's target is above HEAD's, so its check is the first row named check.
    await worktree.locator('.monaco-tl-twistie').click();
    await rows(/^check$/).nth(1).waitFor({ timeout: 30_000 });
    const check = rows(/^check$/).first();
    await check.locator('.codicon-pass').waitFor({ timeout: 60_000 });
    assert.equal(await rows(/^check$/).count(), 2, 'the working tree\'s check and HEAD\'s');

    // Right-click the working tree's check → Explain Key.
    await explainFromMenu(check, /^Explain check @ working tree/);
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    assert.match(await page.locator('.tabs-container .tab.active').innerText(), /^Explain check @ working tree/);
    assert.match(await view.locator('h1').innerText(), /^Why check has key [0-9a-f]{16}$/);
    assert.match(await view.locator('#result').innerText(), /^The working tree over [0-9a-f]{7}: its result was built by \S+@\S+ .* just now\.$/);
    const changes = view.locator('#changes');
    assert.match(await changes.locator('h2').innerText(), /^What changed since the previous build$/);
    assert.match(await changes.locator('.meta').first().innerText(), /^The previous build: key [0-9a-f]{16}, built by .*, for commit [0-9a-f]{7}\.$/);
    assert.equal(await changes.locator('h3').innerText(), 'Input src: 1 changed');
    assert.deepEqual(await changes.locator('table.files tr').allInnerTexts(), ['changed\tsrc/app.txt']);
    assert.match(await changes.locator('table.summary').innerText(), /Definition\s+unchanged\s+Tool\s+datakit-ci\/[\d.]+, unchanged\s+Inputs\s+1 changed/);
    assert.match(await view.locator('table.inputs').innerText(), /Input\s+Object id\s+Files\s+src\s+[0-9a-f]{12}\s+2/);
    assert.equal(await view.locator('details#raw').getAttribute('open'), null, 'the raw key folded, last');
    const csp = await view.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp, /^default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'$/);
    assert.equal(await view.locator('script, [src], link[href]').count(), 0, 'no script, nothing loaded from anywhere');
    // No error anywhere: no notification was raised.
    const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
    assert.deepEqual(toasts, [], 'no notification');
    await wb.screenshot('explain-worktree.png');
    // Unfolded, the raw key is the working tree's.
    await view.locator('details#raw summary').click();
    assert.match(await view.locator('details#raw pre').innerText(), /"worktree": true\n\}$/);
    await wb.screenshot('explain-worktree-raw-key.png');
  });

  it('Explain after the working tree\'s changes were reverted: HEAD\'s job says why the earlier files cannot be listed, no error', async () => {
    const { page } = wb;
    const sidebar = page.locator('.part.sidebar');
    git(dir, 'checkout', '--', 'src/app.txt');
    await sidebar.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^Working tree/ }) }).waitFor({ state: 'detached', timeout: 60_000 });
    const check = sidebar.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^check$/ }) });
    await check.waitFor({ timeout: 30_000 });
    await explainFromMenu(check, /^Explain check @ [0-9a-f]{7}/);
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const changes = view.locator('#changes');
    await changes.locator('h3').waitFor({ timeout: 60_000 });
    assert.match(await changes.locator('.meta').first().innerText(), /^The previous build: key [0-9a-f]{16}, built by .*, from the working tree over [0-9a-f]{7}\.$/);
    assert.match(await changes.locator('h3').innerText(), /^Input src: its object id differs: [0-9a-f]{12} → [0-9a-f]{12}$/);
    assert.match(await changes.locator('.note').innerText(), /^The previous build's files cannot be listed: the working tree's changes it was built from \(over [0-9a-f]{7}\) are no longer there: edited again, reverted or never committed\.$/);
    assert.deepEqual(await page.locator('.notifications-toasts .notification-toast').allInnerTexts(), [], 'no notification');
    await wb.screenshot('explain-reverted.png');
  });
});
