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
    await page.goto(workbenchUrl(server, target ? { folder: target, payload } : { payload }), { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
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
    async screenshot(file) {
      fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
      const p = path.join(SCREENSHOTS_DIR, file);
      await page.screenshot({ path: p });
      return p;
    },
    async close() {
      await browser.context.close().catch(() => {});
      await server.stop();
    },
  };
}
