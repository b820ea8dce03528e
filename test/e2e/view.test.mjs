import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeDemoRepo } from '../fixtures/repo.mjs';

describe('the DataKit CI view in the workbench', () => {
  let wb;
  before(async () => {
    wb = await openWorkbench({ name: 'view', folder: (runDir) => makeDemoRepo(path.join(runDir, 'ws', 'demo')) });
  });
  after(async () => { await wb?.close(); });

  it('shows a DataKit CI icon in the activity bar', async () => {
    const tab = wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ });
    await tab.waitFor({ timeout: 60_000 });
    assert.equal(await tab.count(), 1);
    await tab.click();
  });

  it('opens the side bar on the Builds view', async () => {
    const sidebar = wb.page.locator('.part.sidebar');
    await sidebar.locator('.composite.title', { hasText: /DataKit CI/i }).waitFor({ timeout: 30_000 });
    // A container with one view shows that view's name in the side bar's title.
    const title = await sidebar.locator('.composite.title').innerText();
    assert.match(title, /DATAKIT CI: BUILDS/i);
    assert.equal(await sidebar.locator('.pane-header[aria-label="Builds Section"]').count(), 1);
    // The demo repository's HEAD target, with its jobs.
    const head = sidebar.locator('.monaco-list-row').first();
    await head.waitFor({ timeout: 30_000 });
    assert.match(await head.innerText(), /^main @ [0-9a-f]{7}/);
    for (const job of ['build', 'test', 'lint', 'slow', 'docs']) {
      await sidebar.locator('.monaco-list-row .label-name', { hasText: new RegExp(`^${job}$`) }).waitFor({ timeout: 30_000 });
    }
    // What the screenshot shows: the HEAD row and every job's row, inside the window.
    const [width, height] = await wb.page.evaluate(() => [window.innerWidth, window.innerHeight]);
    for (const shown of [head, ...['build', 'test', 'lint', 'slow', 'docs'].map((job) => sidebar.locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: new RegExp(`^${job}$`) }) }))]) {
      const box = await shown.boundingBox();
      assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height, `${await shown.innerText()} is in the window: ${JSON.stringify(box)}`);
    }
    await wb.screenshot('view-container.png');
  });
});
