// The three paths of issue 12 as a person takes them, in a real browser: a red icon to the failing line in
// two clicks; a broken config fixed from its error row; a repository without config run from a suggestion.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { clickUntilOpened, openWorkbench } from './workbench.mjs';
import { makeRepo } from '../fixtures/repo.mjs';

async function openView(wb) {
  await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  const sidebar = wb.page.locator('.part.sidebar');
  const row = (label) => sidebar.locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: label }) });
  return { sidebar, row };
}

/**
 * Clicks a row of the Builds view once the side bar fetches no rows, until `opened` shows. A click is lost
 * when the tree replaces the row as it lands (VS Code drops the command of a row it replaced): only then,
 * seen as a fetch on the side bar's progress bar or as the clicked row's element gone or showing another
 * item (a refresh too quick for the progress bar), is it clicked again.
 */
async function clickRow(t, wb, what, row, opened) {
  await wb.sideBarIdle();
  let before = 0;
  let clicked;
  let clickedText;
  await clickUntilOpened(t, what, {
    click: async () => {
      before = await wb.sideBarFetches();
      // The row's element as clicked: a refresh too quick to show the progress bar still replaces or rebinds it.
      clicked = await row.elementHandle();
      clickedText = await clicked.innerText();
      await clicked.click();
    },
    opened,
    knownCause: async () => {
      const n = await wb.sideBarFetches() - before;
      if (n > 0) { return `the side bar fetched rows ${n} times as the click landed: VS Code drops the command of a row it replaced`; }
      const now = await clicked.evaluate((el) => (el.isConnected ? el.innerText : undefined));
      if (now !== clickedText) { return `the tree ${now === undefined ? 'removed the clicked row' : 'drew another item in the clicked row'} as the click landed`; }
      return undefined;
    },
  });
}

describe('from a red icon to the failing line', () => {
  it('a failed job: its log in one click, the failing line in a second; the problem in the Problems panel', async (t) => {
    // Its error goes to stderr, marked: the saved log shows it in the error colour.
    const config = { jobs: { check: { run: "echo 'checking'; echo 'src/app.txt:2:5: error: the value is wrong' >&2; exit 1", inputs: ['src'], stderr: 'marked' } } };
    const wb = await openWorkbench({ name: 'leads-red', settings: { 'datakitCi.automaticBuilds': true }, folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'app'), [{ message: 'App', files: { 'src/app.txt': 'first\nsecond line\n', '.datakit-ci.json': JSON.stringify(config, null, 2) } }]) });
    try {
      const { row } = await openView(wb);
      await row(/^check$/).locator('.codicon-error').waitFor({ timeout: 60_000 });
      // 1: the saved log.
      const logTab = wb.page.locator('.tabs-container .tab', { hasText: /check @ [0-9a-f]{7}/ });
      await clickRow(t, wb, 'A click on the check row to open its log', row(/^check$/), logTab);
      const link = wb.page.locator('.editor-instance .view-lines .detected-link', { hasText: 'src/app.txt:2:5' });
      await link.first().waitFor({ timeout: 30_000 });
      await wb.screenshot('leads-red-log.png');
      // 2: the failing line, by a Ctrl+click at the link's place, as a person's hand does. Not a click on the link's
      // element: with Ctrl held, the pointer arriving over a link makes the editor draw the line again (the link
      // underlined), which detaches the element a click was aimed at (seen failing 5 tries in a row). The editor
      // finds the link under the pointer by position. Tried again only when a hover covered the link.
      const appTab = wb.page.locator('.tabs-container .tab', { hasText: 'app.txt' });
      let at;
      await clickUntilOpened(t, 'A Ctrl+click on src/app.txt:2:5 in the log to open the file', {
        click: async () => {
          await wb.page.mouse.move(0, 0); // no hover of an earlier pointer
          const box = await link.first().boundingBox();
          at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
          await wb.page.keyboard.down('Control');
          try {
            await wb.page.mouse.move(at.x, at.y);
            await wb.page.mouse.down();
            await wb.page.mouse.up();
          } finally {
            await wb.page.keyboard.up('Control');
          }
        },
        opened: appTab,
        knownCause: async () => {
          const over = await wb.page.evaluate(({ x, y }) => Boolean(document.elementFromPoint(x, y)?.closest('.monaco-hover, .workbench-hover')), at);
          return over ? 'a hover covered the link where the pointer clicked' : undefined;
        },
      }).catch(async (e) => { await wb.screenshot('leads-red-click-failed.png'); throw e; }); // what covered the link
      await wb.page.keyboard.press('Control+Shift+M');
      const problem = wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'the value is wrong' }).first();
      await problem.waitFor({ timeout: 30_000 });
      // What the screenshot shows: the file at the failing line, and the problem in the Problems panel.
      assert.match(await wb.page.locator('.tabs-container .tab.active').innerText(), /app\.txt/);
      assert.match(await wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().innerText(), /Ln 2, Col 5/);
      assert.match(await problem.innerText(), /the value is wrong[\s\S]*\[Ln 2, Col 5\]/);
      assert.ok(await problem.isVisible());
      await wb.screenshot('leads-red-problem.png');
    } finally { await wb.close(); }
  });

  it('a broken config: an error row that opens the file at the mistake, and the status bar says so', async (t) => {
    const wb = await openWorkbench({ name: 'leads-config', folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'broken'), [{ message: 'Jobs', files: { 'src/a.txt': 'a\n', '.datakit-ci.json': '{\n  "jobs": {\n    "lint": { "run": "true", "timeout": "soon" }\n  }\n}\n' } }]) });
    try {
      const { row } = await openView(wb);
      const error = row(/must be a duration/);
      await error.waitFor({ timeout: 60_000 });
      assert.match(await error.innerText(), /\.datakit-ci\.json:3:41/);
      await wb.page.locator('.statusbar-item', { hasText: 'DataKit CI: config error' }).waitFor({ timeout: 30_000 });
      await wb.screenshot('leads-config-error.png');
      const configTab = wb.page.locator('.tabs-container .tab', { hasText: '.datakit-ci.json' });
      await clickRow(t, wb, 'A click on the config error row to open .datakit-ci.json', error, configTab);
      await wb.page.locator('.editor-instance .cursors-layer .cursor').first().waitFor({ timeout: 30_000 });
      assert.match(await wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().innerText(), /Ln 3, Col 41/);
      await wb.screenshot('leads-config-opened.png');
    } finally { await wb.close(); }
  });

  it('no config: the suggested jobs from package.json, run from the tree', async () => {
    const pkg = { name: 'tiny', scripts: { test: 'node -e "console.log(\'all tests pass\')"' } };
    const wb = await openWorkbench({ name: 'leads-zero', folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'tiny'), [{ message: 'Tiny', files: { 'package.json': JSON.stringify(pkg, null, 2), 'index.js': 'module.exports = 1;\n' } }]) });
    try {
      const { row } = await openView(wb);
      await row(/^No \.datakit-ci\.json: 1 job suggested from package\.json$/).waitFor({ timeout: 60_000 });
      assert.match(await row(/^test$/).innerText(), /suggested · package\.json script "test"/);
      await wb.screenshot('leads-zero-suggested.png');
      const head = row(/^main @ /);
      await head.hover();
      await head.getByRole('button', { name: 'Run Suggested Jobs' }).click();
      await row(/^test$/).locator('.codicon-pass').waitFor({ timeout: 60_000 });
      await wb.screenshot('leads-zero-passed.png');
    } finally { await wb.close(); }
  });
});
