import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeRepo } from '../fixtures/repo.mjs';

/** Opens the DataKit CI view and returns the text of its welcome content. */
async function welcomeOf(wb) {
  await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  const welcome = wb.page.locator('.part.sidebar .welcome-view-content');
  await welcome.first().waitFor({ timeout: 30_000 });
  return welcome.first();
}

describe('welcome views', () => {
  it('asks for a folder when none is open', async () => {
    const wb = await openWorkbench({ name: 'welcome-nofolder', folder: () => undefined });
    try {
      const w = await welcomeOf(wb);
      assert.match(await w.innerText(), /Open a folder that holds a git repository/);
      assert.equal(await w.getByRole('button', { name: 'Open Folder' }).count(), 1);
      await wb.screenshot('welcome-no-folder.png');
    } finally { await wb.close(); }
  });

  it('says when the folder is not a git repository', async () => {
    // Outside any repository (the run directory itself lies inside this project's).
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-plain-'));
    const wb = await openWorkbench({ name: 'welcome-nogit', folder: () => plain });
    try {
      const w = await welcomeOf(wb);
      await wb.page.waitForFunction(() => /No git repository/.test(document.querySelector('.part.sidebar .welcome-view-content')?.textContent ?? ''), null, { timeout: 30_000 });
      assert.match(await w.innerText(), /No git repository in this workspace/);
      await wb.screenshot('welcome-no-git.png');
    } finally { await wb.close(); fs.rmSync(plain, { recursive: true, force: true }); }
  });

  it('offers to create .datakit-ci.json in a repository that has none, and creates it', async () => {
    let dir;
    const wb = await openWorkbench({ name: 'welcome-noconfig', folder: (runDir) => { dir = makeRepo(path.join(runDir, 'ws', 'bare-project'), [{ message: 'init', files: { 'README.md': '# x\n' } }]); return dir; } });
    try {
      const w = await welcomeOf(wb);
      await wb.page.waitForFunction(() => /declares no jobs/.test(document.querySelector('.part.sidebar .welcome-view-content')?.textContent ?? ''), null, { timeout: 30_000 });
      await wb.screenshot('welcome-no-config.png');
      await w.getByRole('button', { name: 'Create .datakit-ci.json' }).click();
      await wb.page.locator('.tabs-container .tab', { hasText: '.datakit-ci.json' }).waitFor({ timeout: 30_000 });
      const text = fs.readFileSync(path.join(dir, '.datakit-ci.json'), 'utf8');
      assert.match(text, /"jobs"/);
    } finally { await wb.close(); }
  });
});
