import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeHistoryFixture, recordedRunTimes } from '../fixtures/repo.mjs';

describe('a job\'s history as a chart', () => {
  let wb;
  let dir;
  before(async () => {
    wb = await openWorkbench({
      name: 'history',
      folder: (runDir) => (dir = makeHistoryFixture(path.join(runDir, 'ws', 'history'), { cacheDir: path.join(runDir, 'build-cache') })),
      settings: { 'datakitCi.automaticBuilds': false },
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  });
  after(async () => { await wb?.close(); });

  it('draws one bar per build, its height the run time it recorded and its colour the result; hover says which commit, click opens the log', async () => {
    const { page } = wb;
    const row = page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-name', { hasText: /^unit$/ }) });
    // The view has shown HEAD's result and fetches no rows: a refresh while the menu is open would take the
    // command's row from it (VS Code drops a context-menu command's argument when the tree refreshes then).
    await row.locator('.codicon-pass').waitFor({ timeout: 60_000 });
    await wb.sideBarIdle();
    const fetches = await wb.sideBarFetches();
    await row.click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.waitFor({ timeout: 30_000 }).catch(async (e) => {
      await wb.screenshot('history-no-menu.png');
      throw new Error(`A right-click on the unit row opened no context menu (the side bar fetched rows ${await wb.sideBarFetches() - fetches} times meanwhile): ${e.message}`);
    });
    await menu.getByRole('menuitem', { name: /^Show History Chart/ }).hover();
    await page.keyboard.press('Enter');
    const chart = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const bars = chart.locator('rect.bar');
    const pick = page.locator('.quick-input-widget input[placeholder^="Pick a job"]');
    // A webview's first start in a cold workbench on a busy machine can take tens of seconds.
    const shown = await Promise.race([
      bars.first().waitFor({ timeout: 90_000 }).then(() => 'chart', () => 'nothing'),
      pick.waitFor({ timeout: 90_000 }).then(() => 'pick', () => 'nothing'),
    ]);
    if (shown === 'pick') {
      await wb.screenshot('history-pick-a-job.png');
      assert.fail(`Show History Chart from the unit row's context menu asked to "Pick a job" instead of drawing unit's chart: the command lost its row. VS Code drops a context-menu command's argument when the tree refreshes at that moment; the side bar fetched rows ${await wb.sideBarFetches() - fetches} times since the right-click.`);
    }
    assert.equal(shown, 'chart', 'the chart was drawn within 90 s');
    assert.equal(await bars.count(), 4);
    // Oldest first: Add the parser, Break the parser (failed), Fix the parser, Speed it up.
    const classes = await bars.evaluateAll((rs) => rs.map((r) => r.getAttribute('class')));
    assert.deepEqual(classes, ['bar success', 'bar failure', 'bar success', 'bar success']);

    // Each bar's height follows the run time its result recorded (Run-Time-Ms), whatever the jobs took.
    const recorded = new Map(recordedRunTimes(dir, 'unit').map((r) => [r.source.slice(0, 7), r.ms]));
    const drawn = await bars.evaluateAll((rs) => rs.map((r) => ({ label: r.getAttribute('aria-label'), height: Number(r.getAttribute('height')) })));
    const bar = drawn.map((d) => ({ ...d, ms: recorded.get(d.label.slice(0, 7)) }));
    assert.ok(bar.every((b) => b.ms !== undefined), `each bar is a recorded result: ${JSON.stringify(bar)} ${JSON.stringify([...recorded])}`);
    const full = Number(await chart.locator('#chart').getAttribute('height'));
    const max = Math.max(...bar.map((b) => b.ms));
    for (const b of bar) {
      if (b.ms === max) { assert.equal(b.height, full, `the longest run is the full height: ${JSON.stringify(bar)}`); }
      for (const c of bar) {
        if (b.ms < c.ms) { assert.ok(b.height <= c.height, `a shorter run, a bar no taller: ${JSON.stringify(bar)}`); }
        // More than a pixel's worth apart: strictly shorter.
        if ((c.ms - b.ms) / max * full > 1) { assert.ok(b.height < c.height, `${b.ms} ms below ${c.ms} ms: ${JSON.stringify(bar)}`); }
      }
    }
    // Theme colours, resolved: passed and failed differ, and neither is the default black.
    const fills = await bars.evaluateAll((rs) => rs.map((r) => getComputedStyle(r).fill));
    assert.notEqual(fills[0], fills[1]);
    assert.ok(!fills.includes('rgb(0, 0, 0)'), `theme colours: ${fills}`);
    const csp = await chart.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp, /^default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'$/);
    assert.equal(await chart.locator('[src], link[href]').count(), 0, 'nothing loaded from anywhere');

    await bars.nth(1).hover();
    const info = chart.locator('#info');
    await info.filter({ hasText: /Break the parser/ }).waitFor({ timeout: 10_000 });
    assert.match(await info.innerText(), /^[0-9a-f]{7} Break the parser · failed: Command exited with code 1 · ran \S+ s · /);
    // What the screenshot shows: the chart's tab in front, its title and scale, the hovered bar's commit.
    assert.match(await page.locator('.tabs-container .tab.active').innerText(), /History: unit/);
    assert.equal(await chart.locator('h1').innerText(), 'unit: the last 4 builds, oldest first');
    assert.match(await chart.locator('.legend').innerText(), new RegExp(`height: run time, up to ${(max / 1000).toFixed(1).replace('.', '\\.')} s`));
    assert.ok(await chart.locator('#chart').isVisible());
    await wb.screenshot('history-chart.png');

    await bars.nth(1).click();
    const tab = page.locator('.tabs-container .tab', { hasText: /unit [0-9a-f]{7}/ });
    await tab.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-instance .view-lines');
    await editor.filter({ hasText: /Failed:\sCommand\sexited\swith\scode\s1/ }).waitFor({ timeout: 30_000 });
    await wb.screenshot('history-chart-log.png');
  });
});
