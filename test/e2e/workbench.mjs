// Opens the real VS Code workbench (code-server) in headless Chromium with the extension loaded from the
// project, for tests that look at the UI as a person does. Screenshots land in test-results/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import { ensureHostTools } from '../../scripts/host/setup.mjs';
import { PROJECT, SCREENSHOTS_DIR } from '../../scripts/host/paths.mjs';
import { launchBrowser, makeRunDir, remoteUri, startCodeServer, workbenchUrl } from '../../scripts/host/codeServer.mjs';

export async function openWorkbench({ name, folder, settings, trust = false, env }) {
  ensureHostTools({ quiet: true });
  const runDir = makeRunDir(`e2e-${name}`, settings);
  const target = folder(runDir);
  const server = await startCodeServer(runDir, { trust, env });
  let browser;
  try {
    browser = await launchBrowser(runDir);
    const { page } = browser;
    const payload = [['extensionDevelopmentPath', remoteUri(server, PROJECT)], ['skipWelcome', 'true'], ['skipReleaseNotes', 'true']];
    await page.goto(workbenchUrl(server, target ? { folder: target, payload } : { payload }), { waitUntil: 'domcontentloaded', timeout: 120_000 }); // a loaded machine takes more than the default 30 s
    await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
    await page.evaluate(countSideBarFetches);
  } catch (e) {
    await browser?.context.close().catch(() => {});
    await server.stop();
    throw e;
  }
  const { page } = browser;
  return {
    page,
    runDir,
    folder: target,
    /** A row of the side bar's views, by a label (a string or pattern) of its name. */
    row(label) {
      return page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-name', { hasText: label }) });
    },
    /** What a row of the side bar shows beside its name. */
    async description(label) {
      return (await this.row(label).locator('.label-description').innerText()).trim();
    },
    /**
     * The text of the hover a row's name shows when pointed at: the hover that holds `hasText`, since another
     * one (the activity bar's, from a click before) can still be on screen for a moment. The row is pointed at
     * once the side bar is done fetching rows. A fetch that comes while the hover is awaited (a commit read in
     * two steps, say) redraws the row, and VS Code then drops the hover it was about to show: the pointer did
     * not move, so nothing asks for it again. The row is then pointed at anew, said with `t.diagnostic`, at most
     * three times; a hover missing while no rows were fetched fails at once, saying what was on screen.
     */
    async rowHover(label, hasText, t) {
      const hover = page.locator('.monaco-hover:visible, .workbench-hover:visible').filter({ hasText }).first();
      const redraws = [];
      for (let i = 1; ; i++) {
        await this.sideBarIdle(60_000);
        await page.mouse.move(0, 0);
        const fetches = await this.sideBarFetches();
        await this.row(label).locator('.label-name').hover();
        try {
          await hover.waitFor({ timeout: 30_000 });
          return await hover.innerText();
        } catch (e) {
          const fetched = (await this.sideBarFetches()) - fetches;
          const shown = await page.locator('.monaco-hover:visible, .workbench-hover:visible').allInnerTexts();
          const missing = `no hover holding ${JSON.stringify(String(hasText))} on the row ${label} in 30 s (hovers on screen: ${JSON.stringify(shown)})`;
          if (fetched === 0) { throw new Error(`${missing}, and the side bar fetched no rows meanwhile${redraws.length ? ` (before: ${redraws.join('; ')})` : ''}: ${e.message.split('\n')[0]}`); }
          redraws.push(`the side bar fetched its rows ${fetched} time${fetched === 1 ? '' : 's'} meanwhile, redrawing the row`);
          if (i >= 3) { throw new Error(`${missing}, ${i} times: ${redraws.join('; ')}`); }
          t?.diagnostic(`${missing}: ${redraws.at(-1)}; pointing at it again`);
        }
      }
    },
    /** A command of the palette, by its title, as a person runs it. */
    async runCommand(title) {
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill(`>${title}`);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 30_000 });
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });
    },
    async screenshot(file) {
      fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
      const p = path.join(SCREENSHOTS_DIR, file);
      await page.screenshot({ path: p });
      return p;
    },
    /**
     * How many times a view of the side bar has fetched its rows since the workbench opened: VS Code shows
     * each fetch (a tree's refresh) with the side bar's progress bar.
     */
    sideBarFetches() {
      return page.evaluate(() => window.dkciSideBarFetches);
    },
    /** Until the side bar's progress bar is off: no view of it is fetching rows. */
    async sideBarIdle(timeout = 30_000) {
      await page.locator('.part.sidebar .monaco-progress-container.active').waitFor({ state: 'detached', timeout });
    },
    async close() {
      await browser.context.close().catch(() => {});
      await server.stop();
    },
  };
}

/** In the page: counts each time a progress bar of the side bar turns on (window.dkciSideBarFetches). */
function countSideBarFetches() {
  window.dkciSideBarFetches = 0;
  const on = (cls) => /(^|\s)active(\s|$)/.test(cls ?? '');
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target;
      if (el.classList?.contains('monaco-progress-container') && el.closest('.part.sidebar') && on(el.getAttribute('class')) && !on(r.oldValue)) {
        window.dkciSideBarFetches++;
      }
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true });
}

/**
 * Clicks (`click`) until `opened` shows, at most `tries` times. A click that throws, or after which `opened`
 * does not show in `timeout`, is tried again only when `knownCause()` names why (a cause the test knows of,
 * said in the test's output with `t.diagnostic`); otherwise the test fails with what did not happen.
 */
export async function clickUntilOpened(t, what, { click, opened, knownCause, tries = 3, timeout = 30_000 }) {
  const causes = [];
  for (let i = 1; ; i++) {
    let failure;
    try {
      await click();
      await opened.waitFor({ timeout });
      return;
    } catch (e) {
      failure = e;
    }
    const cause = await knownCause(failure);
    if (!cause) { throw new Error(`${what} failed on try ${i}, for no cause the test knows of${causes.length ? ` (before: ${causes.join('; ')})` : ''}: ${failure.message}`); }
    causes.push(cause);
    if (i >= tries) { throw new Error(`${what} failed ${i} times: ${causes.join('; ')}`); }
    t.diagnostic(`${what}: try ${i} failed (${cause}); trying again`);
  }
}
