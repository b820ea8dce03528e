import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT } from '../../scripts/host/paths.mjs';
import { openWorkbench } from './workbench.mjs';
import { makeHistoryFixture } from '../fixtures/repo.mjs';

describe('a job\'s history as a chart', () => {
  let wb;
  let dir;
  before(async () => {
    wb = await openWorkbench({
      name: 'history',
      folder: (runDir) => {
        dir = makeHistoryFixture(path.join(runDir, 'ws', 'history'));
        // Four builds, one per commit, oldest first, saved by the command line (one fails: exit code 1). Each
        // in a second of its own: a result's time is its commit's, which git keeps in whole seconds.
        for (const rev of ['HEAD~3', 'HEAD~2', 'HEAD~1', 'HEAD']) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1005 - (Date.now() % 1000));
          try {
            execFileSync(process.execPath, [path.join(PROJECT, 'dist', 'cli.js'), 'build', '--rev', rev], { cwd: dir, env: { ...process.env, DATAKIT_CI_CACHE_DIR: path.join(runDir, 'build-cache') }, stdio: 'pipe' });
          } catch (e) {
            if (e.status !== 1) { throw e; }
          }
        }
        return dir;
      },
      settings: { 'datakitCi.automaticBuilds': false },
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  });
  after(async () => { await wb?.close(); });

  it('draws one bar per build, its height the run time and its colour the result; hover says which commit, click opens the log', async () => {
    const { page } = wb;
    const row = page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-name', { hasText: /^unit$/ }) });
    await row.waitFor({ timeout: 60_000 });
    // A right-click during the workbench's busy start may be swallowed (the menu did not open once in a full
    // run): click again until the menu shows, for up to a minute.
    const menu = page.locator('.context-view .monaco-menu');
    for (let tries = 0; ; tries++) {
      await row.click({ button: 'right' });
      try { await menu.waitFor({ timeout: 10_000 }); break; } catch (e) { if (tries >= 5) { throw e; } await page.keyboard.press('Escape'); }
    }
    await menu.getByRole('menuitem', { name: /^Show History Chart/ }).hover();
    await page.keyboard.press('Enter');
    const chart = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const bars = chart.locator('rect.bar');
    // A webview's first start in a cold workbench on a busy machine can take tens of seconds.
    await bars.first().waitFor({ timeout: 90_000 });
    assert.equal(await bars.count(), 4);
    // Oldest first: Add the parser (0.6 s), Break the parser (failed), Fix the parser (0.9 s), Speed it up (0.2 s).
    const classes = await bars.evaluateAll((rs) => rs.map((r) => r.getAttribute('class')));
    assert.deepEqual(classes, ['bar success', 'bar failure', 'bar success', 'bar success']);
    const heights = await bars.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
    assert.ok(heights[2] > heights[0] && heights[0] > heights[3], `the 0.9 s bar is the tallest, the 0.2 s one the shortest: ${heights}`);
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
    const shot = await wb.screenshot('history-chart.png');
    assert.ok(fs.statSync(shot).size > 10_000, 'the screenshot is a real image');

    await bars.nth(1).click();
    const tab = page.locator('.tabs-container .tab', { hasText: /unit [0-9a-f]{7}/ });
    await tab.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-instance .view-lines');
    await editor.filter({ hasText: /Failed:\sCommand\sexited\swith\scode\s1/ }).waitFor({ timeout: 30_000 });
    await wb.screenshot('history-chart-log.png');
  });
});
