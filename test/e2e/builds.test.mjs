import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeE2eFixture } from '../fixtures/repo.mjs';

describe('builds as a person sees them', () => {
  let wb;
  let fixture;
  let sidebar;
  const row = (name) => sidebar.locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }) });

  before(async () => {
    wb = await openWorkbench({
      name: 'builds',
      folder: (runDir) => { fixture = makeE2eFixture(path.join(runDir, 'ws', 'project')); return fixture.dir; },
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
    sidebar = wb.page.locator('.part.sidebar');
  });
  after(async () => {
    await wb?.screenshot('builds-final.png').catch(() => {});
    if (fixture) { fs.writeFileSync(fixture.release, ''); fs.writeFileSync(fixture.flakyRelease, ''); }
    await wb?.close();
  });

  it('shows passed, failed and running jobs with their icons', async () => {
    await row('ok').locator('.codicon-pass').waitFor({ timeout: 60_000 });
    await row('flaky').locator('.codicon-error').waitFor({ timeout: 60_000 });
    await row('slow').locator('.codicon-sync.codicon-modifier-spin, .codicon-loading.codicon-modifier-spin').first().waitFor({ timeout: 60_000 });
    assert.match(await row('ok').innerText(), /passed · (<1 s|\d+ s) · just now/);
    assert.match(await row('flaky').innerText(), /failed \(exit 1\) · (<1 s|\d+ s) · just now/);
    assert.match(await row('slow').innerText(), /Running/);
    assert.match(await sidebar.locator('.monaco-list-row').first().innerText(), /^main @ [0-9a-f]{7}/);
    await wb.screenshot('tree-pass-fail-running.png');
  });

  it('shows the HEAD counts in the status bar', async () => {
    const item = wb.page.locator('#datakit-ci\\.datakit-ci\\.datakitCi\\.status, .statusbar-item', { hasText: /\d/ }).filter({ has: wb.page.locator('.codicon-pass') });
    await item.first().waitFor({ timeout: 30_000 });
    const text = await item.first().innerText();
    assert.match(text.replace(/\s+/g, ' ').trim(), /^DataKit CI: 1 1 1$/, 'named; spinning 1, passed 1, failed 1');
    assert.equal(await item.first().locator('.codicon-error').count(), 1);
    await wb.page.locator('.part.statusbar').screenshot({ path: path.join(path.dirname(await wb.screenshot('status-bar-window.png')), 'status-bar.png') });
  });

  it('rebuilds a failed job from its context menu: pending, then passed', async () => {
    await row('flaky').click({ button: 'right' });
    const menu = wb.page.locator('.context-view .monaco-menu');
    await menu.waitFor({ timeout: 10_000 });
    await wb.screenshot('context-menu.png');
    await menu.getByRole('menuitem', { name: /^Rebuild/ }).click();
    // The second run waits for its release file: pending, then passed once released.
    await row('flaky').locator('.codicon-modifier-spin').waitFor({ timeout: 30_000 });
    assert.equal(await row('flaky').locator('.codicon-pass').count(), 0);
    fs.writeFileSync(fixture.flakyRelease, '');
    await row('flaky').locator('.codicon-pass').waitFor({ timeout: 60_000 });
    assert.match(await row('flaky').innerText(), /passed/);
    await wb.screenshot('after-rebuild.png');
  });

  it('opens the saved log of a finished job when it is clicked', async () => {
    await row('flaky').click();
    const tab = wb.page.locator('.tabs-container .tab', { hasText: /flaky @ [0-9a-f]{7}/ });
    await tab.waitFor({ timeout: 30_000 });
    const editor = wb.page.locator('.editor-instance .view-lines');
    await editor.waitFor({ timeout: 30_000 });
    // The editor renders spaces as no-break spaces.
    const text = () => editor.innerText().then((t) => t.replace(/\u00a0/g, ' '));
    const deadline = Date.now() + 30_000;
    while (!/second run passes/.test(await text()) && Date.now() < deadline) { await wb.page.waitForTimeout(100); }
    assert.match(await text(), /second run passes/);
    assert.match(await text(), /=== flaky @ [0-9a-f]{7}/);
    assert.match(await text(), /Success/);
    await wb.screenshot('saved-log.png');
  });

  it('restores outputs after a dialog that lists what is overwritten and what is new; Cancel writes nothing', async () => {
    const target = (f) => path.join(fixture.dir, 'out', f);
    const openDialog = async () => {
      await row('ok').click({ button: 'right' });
      const menu = wb.page.locator('.context-view .monaco-menu');
      await menu.waitFor({ timeout: 10_000 });
      // (A mouse click on this last item of the menu does not reach it here; the keyboard does.)
      await menu.getByRole('menuitem', { name: /^Restore Outputs/ }).hover();
      await wb.page.keyboard.press('Enter');
      const dialog = wb.page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 30_000 });
      return dialog;
    };
    let dialog = await openDialog();
    const text = (await dialog.innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, /Restore 2 output files of ok into project\?/);
    assert.match(text, /Overwritten \(1\):\s*out\/app\.txt/);
    assert.match(text, /New \(1\):\s*out\/tool\.sh/);
    await wb.screenshot('restore-outputs-dialog.png');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(fs.readFileSync(target('app.txt'), 'utf8'), 'stale\n', 'Cancel wrote nothing');
    assert.equal(fs.existsSync(target('tool.sh')), false);

    dialog = await openDialog();
    await dialog.getByRole('button', { name: 'Restore' }).click();
    // The command says it is done once every file is written, modes included.
    await wb.page.locator('.notifications-toasts', { hasText: 'restored 2 files of ok' }).waitFor({ timeout: 30_000 });
    assert.equal(fs.readFileSync(target('app.txt'), 'utf8'), 'built\n');
    assert.equal(fs.statSync(target('tool.sh')).mode & 0o111, 0o111, 'restored executable');
  });
});
