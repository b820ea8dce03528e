import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { makeRepo } from '../fixtures/repo.mjs';

const TRUST_SETTINGS = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
};

describe('workspace trust', () => {
  let wb;
  before(async () => {
    wb = await openWorkbench({
      name: 'trust',
      trust: true,
      settings: TRUST_SETTINGS,
      folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'stranger'), [{ message: 'init', files: {
        'src/a.txt': 'a\n', '.datakit-ci.json': JSON.stringify({ jobs: { hello: { run: 'echo hello' } } }),
      } }]),
    });
    await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  });
  after(async () => { await wb?.close(); });

  it('explains that nothing runs in an untrusted workspace and offers to manage trust', async () => {
    const welcome = wb.page.locator('.part.sidebar .welcome-view-content');
    await wb.page.waitForFunction(() => /not trusted/.test(document.querySelector('.part.sidebar .welcome-view-content')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.match(await welcome.innerText(), /runs no job and starts no process/);
    await wb.screenshot('untrusted-welcome.png');
  });

  it('starts building once trust is granted', async () => {
    await wb.page.locator('.part.sidebar .welcome-view-content').getByRole('button', { name: 'Manage Workspace Trust' }).click();
    const trust = wb.page.locator('.workspace-trust-editor').getByRole('button', { name: /^Trust$/ });
    await trust.first().waitFor({ timeout: 30_000 });
    await wb.screenshot('trust-editor.png');
    await trust.first().click();
    const row = wb.page.locator('.part.sidebar .monaco-list-row', { hasText: /^hello/ });
    await row.locator('.codicon-pass').waitFor({ timeout: 60_000 });
    assert.match(await row.innerText(), /passed/);
    await wb.screenshot('trusted-after-grant.png');
  });
});
