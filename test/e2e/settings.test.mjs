import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { clickUntilOpened, openWorkbench } from './workbench.mjs';
import { makeRepo } from '../fixtures/repo.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8'));
const properties = Object.entries(pkg.contributes.configuration.properties);
/** The settings the Settings editor lists, in their order (the old names of renamed ones are hidden unless set). */
const listed = properties.filter(([, s]) => !s.markdownDeprecationMessage).sort(([, a], [, b]) => a.order - b.order);

/** Each setting row the Settings editor has drawn: its key, category, label, description and an enum's options. */
function readRows() {
  return [...document.querySelectorAll('.settings-editor .setting-item-contents')].map((row) => ({
    key: row.closest('[data-key]')?.getAttribute('data-key') ?? row.querySelector('[data-key]')?.getAttribute('data-key') ?? null,
    category: row.querySelector('.setting-item-category')?.textContent ?? '',
    label: row.querySelector('.setting-item-label')?.textContent ?? '',
    description: row.querySelector('.setting-item-description')?.innerText ?? '',
    code: [...row.querySelectorAll('.setting-item-description code')].map((c) => c.textContent),
    options: [...row.querySelectorAll('select option')].map((o) => o.textContent),
  }));
}

/**
 * From now on, counts each time the Settings editor's search box takes the focus (window.dkciSearchFocused).
 * The test never touches the search box again after typing its query, so a count above zero is VS Code's doing:
 * the Settings editor focuses its search box when its opening completes, which comes after the editor is
 * drawn and used (it waits for the list of installed extensions: seconds on a loaded machine). The focus
 * taken closes an open dropdown, and keys pressed after it go to the search box.
 */
function watchSearchFocus(page) {
  return page.evaluate(() => {
    window.dkciSearchFocused = 0;
    if (window.dkciSearchWatched) { return; }
    window.dkciSearchWatched = true;
    document.addEventListener('focusin', (e) => {
      if (e.target.closest?.('.settings-editor .suggest-input-container')) { window.dkciSearchFocused++; }
    }, true);
  });
}

/** Why an interaction with the Settings editor failed, when the cause is the one watchSearchFocus watches. */
async function searchTookFocus(page) {
  const n = await page.evaluate(() => window.dkciSearchFocused);
  return n > 0 ? `the Settings editor's search box took the focus ${n} time(s) during it (VS Code focuses it when the editor's opening completes)` : undefined;
}

describe('the settings in the Settings editor', () => {
  let wb;
  before(async () => {
    wb = await openWorkbench({
      name: 'settings',
      // A repository without jobs: the extension starts, and nothing runs.
      folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'plain'), [{ message: 'Initial commit', files: { 'README.md': '# plain\n' } }]),
    });
  });
  after(async () => { await wb?.close(); });

  it('lists every setting under its title, in its order, with its description in markdown and labels for an enum\'s values', async (t) => {
    const { page } = wb;
    await page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).waitFor({ timeout: 60_000 });
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Preferences: Open Settings (UI)');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: /Open Settings \(UI\)/ }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    const search = page.locator('.settings-editor .suggest-input-container .monaco-editor textarea');
    await search.waitFor({ timeout: 30_000 });
    await search.focus();
    await page.keyboard.type('@ext:datakit-ci.datakit-ci');
    await page.locator('.settings-editor .settings-count-widget', { hasText: `${listed.length} Settings Found` }).waitFor({ timeout: 30_000 });
    const first = page.locator('.settings-editor .setting-item-label', { hasText: listed[0][1].title });
    await first.waitFor({ timeout: 30_000 });
    await wb.screenshot('settings.png');

    // Tall enough for every row to be drawn (the list draws only what is in view).
    await page.setViewportSize({ width: 1400, height: 2200 });
    try {
      const last = page.locator('.settings-editor .setting-item-label', { hasText: listed[listed.length - 1][1].title });
      await last.waitFor({ timeout: 30_000 });
      const rows = await page.evaluate(readRows);
      assert.deepEqual(rows.map((r) => r.label), listed.map(([, s]) => s.title), 'the titles, in their order');
      for (const [i, [key, s]] of listed.entries()) {
        const row = rows[i];
        assert.equal(row.category, 'Datakit Ci: ', `${key}: VS Code names the category from the key's prefix`);
        // Markdown drawn: its `code` in code elements, no backtick left.
        assert.ok(row.description.length > 20 && !row.description.includes('`'), `${key}: ${row.description}`);
        assert.equal(row.code.length, (s.markdownDescription.match(/`[^`#]+`/g) ?? []).length, `${key}: its code spans drawn as code`);
        if (s.enum) { assert.deepEqual(row.options, s.enumItemLabels, `${key}: the values by their labels`); }
      }
      // A link to another setting is drawn as that setting's name.
      assert.match(rows.find((r) => r.label === 'Max Branch Commits').description, /^With Datakit Ci: Targets set to Every commit of the branch/);
    } finally {
      await page.setViewportSize({ width: 1400, height: 860 });
    }
    // The end of the list, reached from the keyboard.
    await clickUntilOpened(t, 'A click on the first setting, then End', {
      click: async () => {
        await watchSearchFocus(page);
        await page.locator('.settings-editor .setting-item-label', { hasText: listed[0][1].title }).click();
        await page.keyboard.press('End');
      },
      opened: page.locator('.settings-editor .setting-item-label', { hasText: listed[listed.length - 1][1].title }),
      knownCause: () => searchTookFocus(page),
      timeout: 10_000,
    }).catch(async (e) => { await wb.screenshot('settings-end-failed.png'); throw e; });
    await wb.screenshot('settings-end.png');

    // An enum's dropdown: each value by its label (and its name in the file), the one pointed at described. Last
    // in the test: it needs the Settings editor to keep the focus (see searchTookFocus).
    // Tall again, so the row is drawn wherever End left the list.
    await page.setViewportSize({ width: 1400, height: 2200 });
    const targets = page.locator('.settings-editor .setting-item-contents', { has: page.locator('.setting-item-label', { hasText: /^Targets$/ }) });
    const labels = listed.find(([k]) => k === 'datakitCi.targets')[1].enumItemLabels;
    const dropdown = page.locator('.monaco-select-box-dropdown-container.visible');
    const details = dropdown.locator('.select-box-details-pane', { hasText: /every commit of the current branch/ });
    await clickUntilOpened(t, 'A click on the Targets dropdown, then the keys down to "Every commit of the branch"', {
      click: async () => {
        await watchSearchFocus(page);
        await targets.locator('select').click();
        await dropdown.waitFor({ timeout: 10_000 });
        // The list inside is drawn after the container shows.
        await dropdown.locator('.monaco-list-row .option-text').first().waitFor({ timeout: 10_000 });
        assert.deepEqual(await dropdown.locator('.monaco-list-row .option-text').allInnerTexts(), labels);
        // The pointer off the list: left where the select was clicked, it could land on an option and take the focus.
        await page.mouse.move(0, 0);
        // The list has the focus (on the current value, the first) before any key is pressed; then each key is
        // seen to move it before the next (a key pressed while the list was still taking the focus was lost).
        const focused = (label) => dropdown.locator('.monaco-list-row.focused .option-text', { hasText: new RegExp(`^${label}$`) });
        await focused(labels[0]).waitFor({ timeout: 10_000 });
        for (const label of labels.slice(1)) {
          await page.keyboard.press('ArrowDown');
          await focused(label).waitFor({ timeout: 10_000 });
        }
      },
      opened: details,
      knownCause: () => searchTookFocus(page),
    });
    assert.match(await details.innerText(), /^HEAD, then every commit of the current branch that its upstream \(or, without one, origin\/HEAD, main or master\) does not have, newest first; at most "?Datakit Ci: Max Branch Commits"?\.$/);
    await wb.screenshot('settings-targets.png');
  });
});
