import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeHistoryFixture, recordedRunTimes } from '../fixtures/repo.mjs';

const pad = (n) => String(n).padStart(2, '0');
const dayOf = (ms) => { const d = new Date(ms); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };

/** What the chart shows, read from the page: its size, axes, bars (with their shapes' styles) and labels. */
function readChart() {
  const svg = document.getElementById('chart');
  const box = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; };
  const shown = (el) => el.getClientRects().length > 0;
  return {
    page: { w: document.documentElement.clientWidth, h: document.documentElement.clientHeight },
    svg: box(svg),
    upright: svg.classList.contains('upright'),
    ticks: [...svg.querySelectorAll('.tick')].map((t) => ({ ms: Number(t.dataset.ms), label: t.querySelector('text').textContent, y: Number(t.querySelector('line').getAttribute('y1')), labelBox: box(t.querySelector('text')) })),
    dates: [...svg.querySelectorAll('.date')].filter(shown).map((d) => ({ text: d.querySelector('text').textContent, box: box(d.querySelector('text')) })),
    bars: [...svg.querySelectorAll('g.build')].map((b) => {
      const shape = b.querySelector('.shape');
      const style = getComputedStyle(shape);
      const commit = b.querySelector('.commit');
      return {
        cls: b.getAttribute('class'), label: b.getAttribute('aria-label'), role: b.getAttribute('role'), tabindex: b.getAttribute('tabindex'),
        height: Number(shape.getAttribute('height')), box: box(shape),
        fill: style.fill, stroke: style.stroke, dash: style.strokeDasharray,
        mark: b.querySelector('.mark')?.textContent ?? null,
        commit: shown(commit) ? { text: commit.textContent, box: box(commit) } : null,
      };
    }),
  };
}

const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('a job\'s history as a chart', () => {
  let wb;
  let dir;
  let chart;
  before(async () => {
    wb = await openWorkbench({
      name: 'history',
      folder: (runDir) => (dir = makeHistoryFixture(path.join(runDir, 'ws', 'history'), { cacheDir: path.join(runDir, 'build-cache') })),
      settings: { 'datakitCi.automaticBuilds': false },
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
    chart = wb.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  });
  after(async () => { await wb?.close(); });

  it('opens from a job\'s context menu, filling its editor: a bar per build in time order, its height the run time on a y axis of readable ticks, dates and commits below', async () => {
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
    const laidOut = chart.locator('svg#chart.laid-out');
    const pick = page.locator('.quick-input-widget input[placeholder^="Pick a job"]');
    // A webview's first start in a cold workbench on a busy machine can take tens of seconds.
    const shown = await Promise.race([
      laidOut.waitFor({ timeout: 90_000 }).then(() => 'chart', () => 'nothing'),
      pick.waitFor({ timeout: 90_000 }).then(() => 'pick', () => 'nothing'),
    ]);
    if (shown === 'pick') {
      await wb.screenshot('history-pick-a-job.png');
      assert.fail(`Show History Chart from the unit row's context menu asked to "Pick a job" instead of drawing unit's chart: the command lost its row. VS Code drops a context-menu command's argument when the tree refreshes at that moment; the side bar fetched rows ${await wb.sideBarFetches() - fetches} times since the right-click.`);
    }
    assert.equal(shown, 'chart', 'the chart was drawn within 90 s');
    assert.match(await page.locator('.tabs-container .tab.active').innerText(), /History: unit/);
    assert.equal(await chart.locator('h1').innerText(), 'unit: the last 6 builds, oldest first');
    const seen = await chart.locator('svg#chart').evaluate(readChart);

    // It fills its editor: as wide as the page less its margins, down to the bottom.
    assert.ok(seen.svg.w >= seen.page.w - 40 && seen.svg.y + seen.svg.h >= seen.page.h - 20, `the chart fills the editor: ${JSON.stringify({ svg: seen.svg, page: seen.page })}`);

    // One bar per build, oldest first: the four commits (the third failed), then the working tree twice (passed, cancelled).
    const recorded = recordedRunTimes(dir, 'unit');
    assert.equal(seen.bars.length, 6);
    assert.deepEqual(seen.bars.map((b) => b.cls), ['build success', 'build failure', 'build success', 'build success', 'build success worktree', 'build cancelled worktree']);
    seen.bars.forEach((b, i) => {
      const id = recorded[i].source.slice(0, 7);
      assert.ok(b.label.startsWith(i < 4 ? `${id} ` : `working tree on ${id} `), `bar ${i} is the build of ${id}: ${b.label}`);
      assert.equal(b.commit?.text, id, `the commit under bar ${i}`);
    });
    assert.match(seen.bars[1].label, /^[0-9a-f]{7} Break the parser · failed: Command exited with code 1 · ran \d+\.\d s · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d · /);
    assert.match(seen.bars[5].label, /^working tree on [0-9a-f]{7} Speed it up · cancelled · ran /);
    assert.deepEqual(seen.bars.map((b) => b.role), Array(6).fill('button'));

    // The y axis: round ticks from 0 s to the first at or over the longest run, labelled in seconds; each
    // bar's height is its recorded run time on that scale.
    const longest = Math.max(...recorded.map((r) => r.ms));
    const top = seen.ticks[seen.ticks.length - 1];
    assert.equal(seen.ticks[0].label, '0 s');
    assert.ok(seen.ticks.length >= 3 && seen.ticks.length <= 6 && top.ms >= longest && seen.ticks[seen.ticks.length - 2].ms < longest, `ticks: ${JSON.stringify(seen.ticks)}`);
    for (const t of seen.ticks) { assert.match(t.label, /^\d+(\.\d)? s$/); }
    const perMs = (seen.ticks[0].y - top.y) / top.ms;
    seen.bars.forEach((b, i) => assert.ok(Math.abs(b.height - Math.max(2, recorded[i].ms * perMs)) < 0.5, `bar ${i}: ${b.height} px for ${recorded[i].ms} ms at ${perMs} px/ms`));
    // Below the bars, from the left: the day and time of the first build, then each new time that fits.
    assert.ok(seen.dates.length >= 1, JSON.stringify(seen.dates));
    assert.equal(seen.dates[0].text, `${dayOf(recorded[0].time)} ${new Date(recorded[0].time).toTimeString().slice(0, 5)}`);
    for (const [i, d] of seen.dates.entries()) {
      if (i > 0) { assert.ok(d.text !== seen.dates[i - 1].text && d.box.x > seen.dates[i - 1].box.x, `each new time to the right of the one before: ${JSON.stringify(seen.dates)}`); }
    }
    // Nothing written over anything else.
    const texts = [...seen.dates.map((d) => d.box), ...seen.bars.map((b) => b.commit.box), ...seen.ticks.map((t) => t.labelBox)];
    texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => assert.ok(!overlap(a, b), `labels overlap: ${JSON.stringify([a, b])}`)));
    assert.equal(seen.upright, false, 'at this width the commits are written across');
    await wb.screenshot('history-chart.png');
  });

  it('tells each result by its shape as well as its colour (passed solid, failed hatched with an ✕, cancelled outlined), a working-tree build by a dashed outline, and says so in a legend', async () => {
    const { bars } = await chart.locator('svg#chart').evaluate(readChart);
    const [passed, failed, , , worktree, cancelled] = bars;
    assert.ok(!/^(none|url)/.test(passed.fill) && passed.fill !== 'rgb(0, 0, 0)', `passed: a solid theme colour, ${passed.fill}`);
    assert.equal(passed.dash, 'none');
    assert.match(failed.fill, /^url\("?#hatch"?\)$/, 'failed: hatched');
    assert.notEqual(failed.stroke, passed.fill, 'failed: another colour');
    assert.deepEqual(bars.map((b) => b.mark), [null, '✕', null, null, null, null], 'an ✕ over the failure alone');
    assert.equal(cancelled.fill, 'none', 'cancelled: outlined');
    for (const b of [worktree, cancelled]) { assert.notEqual(b.dash, 'none', 'a working-tree build: a dashed outline'); }
    assert.ok(!/^(none|url)/.test(worktree.fill), 'a working-tree build that passed is still solid');
    assert.deepEqual(await chart.locator('.legend li').allInnerTexts(), ['passed (solid)', 'failed (hatched, ✕)', 'cancelled (outlined)', 'working tree (dashed outline)']);
    // The legend's keys are drawn as the bars are.
    const keys = await chart.locator('.legend .shape').evaluateAll((rs) => rs.map((r) => { const s = getComputedStyle(r); return { fill: s.fill, dash: s.strokeDasharray }; }));
    assert.deepEqual(keys.slice(0, 3).map((k) => k.fill), [passed.fill, failed.fill, 'none']);
    assert.notEqual(keys[3].dash, 'none');
  });

  it('fits a narrow editor: commits written upright, and every one in so many where they do not all fit; no label over another', async () => {
    const { page } = wb;
    await page.setViewportSize({ width: 720, height: 600 });
    try {
      const upright = chart.locator('svg#chart.upright');
      await upright.waitFor({ timeout: 10_000 }).catch(async (e) => { await wb.screenshot('history-narrow-failed.png'); throw e; });
      const seen = await upright.evaluate(readChart);
      assert.ok(seen.svg.w >= seen.page.w - 40 && seen.svg.w < 500, `the chart follows the editor: ${JSON.stringify({ svg: seen.svg, page: seen.page })}`);
      const labelled = seen.bars.filter((b) => b.commit);
      assert.ok(labelled.length >= 2 && seen.bars[5].commit, 'the newest is labelled, and others');
      const texts = [...seen.dates.map((d) => d.box), ...labelled.map((b) => b.commit.box), ...seen.ticks.map((t) => t.labelBox)];
      texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => assert.ok(!overlap(a, b), `labels overlap: ${JSON.stringify([a, b])}`)));
      for (const b of seen.bars) { assert.ok(b.box.x >= seen.svg.x && b.box.x + b.box.w <= seen.svg.x + seen.svg.w, `bar inside the chart: ${JSON.stringify(b.box)}`); }
      assert.ok(seen.dates.length >= 1);
      await wb.screenshot('history-chart-narrow.png');
    } finally {
      await page.setViewportSize({ width: 1400, height: 860 });
    }
    await chart.locator('svg#chart:not(.upright)').waitFor({ timeout: 10_000 });
  });

  it('is a keyboard\'s: Tab reaches the newest bar, the arrows move between bars saying each one\'s commit and time, and Enter opens that build\'s log', async () => {
    const { page } = wb;
    const bars = chart.locator('g.build');
    assert.deepEqual(await bars.evaluateAll((bs) => bs.map((b) => b.getAttribute('tabindex'))), ['-1', '-1', '-1', '-1', '-1', '0'], 'one tab stop: the newest');
    // From the page's title, Tab goes to the chart's one tab stop.
    await chart.locator('h1').click();
    await page.keyboard.press('Tab');
    const info = chart.locator('#info');
    await info.filter({ hasText: /^working tree on [0-9a-f]{7} Speed it up · cancelled/ }).waitFor({ timeout: 10_000 });
    for (let i = 0; i < 4; i++) { await page.keyboard.press('ArrowLeft'); }
    await info.filter({ hasText: /Break the parser/ }).waitFor({ timeout: 10_000 });
    const said = await info.innerText();
    assert.match(said, /^[0-9a-f]{7} Break the parser · failed: Command exited with code 1 · ran \d+\.\d s · /);
    const broke = said.slice(0, 7);
    assert.equal(await bars.nth(1).evaluate((b) => b === document.activeElement && b.getAttribute('tabindex')), '0');
    await wb.screenshot('history-chart-focus.png');
    await page.keyboard.press('Enter');
    // Titled as from the tree: the job and the commit it was built for, never the result's own id.
    const tab = page.locator('.tabs-container .tab', { hasText: `unit @ ${broke}.log` });
    await tab.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-instance .view-lines');
    await editor.filter({ hasText: /Failed:\sCommand\sexited\swith\scode\s1/ }).waitFor({ timeout: 30_000 });
    await wb.screenshot('history-chart-log.png');
  });

  it('opens a build\'s log on a click, and says its commit and time on hover', async () => {
    const { page } = wb;
    await page.locator('.tabs-container .tab', { hasText: /History: unit/ }).click();
    const bar = chart.locator('svg#chart.laid-out g.build').nth(0);
    await bar.locator('.shape').hover();
    await chart.locator('#info').filter({ hasText: /^[0-9a-f]{7} Add the parser · passed · ran / }).waitFor({ timeout: 30_000 });
    await bar.locator('.shape').click();
    await page.locator('.editor-instance .view-lines').filter({ hasText: /tests\spass/ }).waitFor({ timeout: 30_000 });
  });
});
