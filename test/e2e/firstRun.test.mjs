// The first run of DataKit CI in a repository, as a person meets it in the workbench: the question before the
// first automatic build (nothing runs until it is answered; Not now, Build now and Always each do what they
// say, and the answer outlives a reopened window), and a repository without .datakit-ci.json whose suggested
// jobs, run from the tree, saved and committed, keep their results: the new HEAD's jobs are hits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { clickUntilOpened, openWorkbench } from './workbench.mjs';
import { git, makeRepo, runCli } from '../fixtures/repo.mjs';

const NEVER_BUILT = /DataKit CI has never built app\. Build its 2 jobs now\?/;

/**
 * A repository `app` of two jobs that each append their name to `ran` (beside the repository, outside it):
 * what ran, and how many times, is read from that file.
 */
function makeFirstRunRepo(runDir) {
  const ran = path.join(runDir, 'ws', 'app.ran');
  const config = { jobs: { mark: { run: `echo mark >> '${ran}'; echo marked` }, check: { run: `echo check >> '${ran}'; echo checked` } } };
  const dir = makeRepo(path.join(runDir, 'ws', 'app'), [{ message: 'App', files: { 'src/a.txt': 'a\n', '.datakit-ci.json': JSON.stringify(config, null, 2) + '\n' } }]);
  return { dir, ran };
}

/** The lines of `ran`, sorted (the jobs run side by side); none when it was never written. */
function ranLines(ran) {
  return fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean).sort() : [];
}

/** Shows the DataKit CI view of a new window: a click on its tab. */
async function openView(wb) {
  await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  const sidebar = wb.page.locator('.part.sidebar');
  return (label) => sidebar.locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: label }) });
}

/**
 * The question as a toast, with the pointer over it: VS Code hides a toast after a while unless the pointer is
 * on it (the question then waits in the notification center, which this opens instead).
 */
async function thePrompt(t, wb) {
  const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: NEVER_BUILT });
  await toast.waitFor({ timeout: 120_000 });
  try {
    await toast.hover({ timeout: 5_000 });
    return toast;
  } catch (e) {
    t.diagnostic(`the toast was hidden before the pointer reached it (${e.message.split('\n')[0]}): the question is answered from the notification center`);
  }
  await wb.page.locator('.part.statusbar .statusbar-item[id="status.notifications"]').click();
  const item = wb.page.locator('.notifications-center .notification-list-item', { hasText: NEVER_BUILT });
  await item.waitFor({ timeout: 30_000 });
  return item;
}

/**
 * Runs a command from the palette, each of `picks` (what is typed, then the row it gives) in turn, until
 * `opened` shows. The palette is opened again only when it closed before its pick: a reopened window, as it
 * restores its panel, takes the focus from it.
 */
async function fromPalette(t, wb, what, picks, opened) {
  const { page } = wb;
  const input = page.locator('.quick-input-widget input');
  await clickUntilOpened(t, what, {
    click: async () => {
      await page.keyboard.press('F1');
      await input.waitFor({ timeout: 30_000 });
      for (const [typed, row] of picks) {
        await input.fill(typed);
        await page.locator('.quick-input-widget .monaco-list-row', { hasText: row }).first().waitFor({ timeout: 30_000 });
        await page.keyboard.press('Enter');
      }
    },
    opened,
    knownCause: async (e) => (!(await page.locator('.quick-input-widget').isVisible()) && /quick-input-widget/.test(e.message)
      ? `the command palette closed before its pick (${e.message.split('\n')[0]})` : undefined),
    timeout: 60_000,
  }).catch(async (e) => { await wb.screenshot('first-run-palette-failed.png'); throw e; });
}

/** Opens the DataKit CI output channel in the panel, until it says `text`. */
async function outputSays(t, wb, text) {
  // (The editor draws spaces as no-break spaces.)
  const said = wb.page.locator('.part.panel .output-view .view-lines', { hasText: new RegExp(text.source.replace(/ /g, '\\s')) });
  await fromPalette(t, wb, 'Output: Show Output Channels… → DataKit CI', [['>Output: Show Output Channels', 'Show Output Channels'], ['DataKit CI', /^DataKit CI$/]], said);
}

/**
 * Shows the DataKit CI view in a reopened window. The window restores the view it showed when the extension's
 * views are registered, before the extension starts: once its status bar item shows, the tab is clicked only
 * when the view is not shown (a click on the tab of the view shown hides it).
 */
async function reopenedView(wb) {
  const { page } = wb;
  await page.locator('.part.statusbar .statusbar-item', { hasText: /^DataKit CI:/ }).waitFor({ timeout: 120_000 });
  const tab = page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ });
  if (await tab.getAttribute('aria-selected') !== 'true') { await tab.click(); }
  const sidebar = page.locator('.part.sidebar');
  await sidebar.locator('.composite.title', { hasText: /DataKit CI/i }).waitFor({ timeout: 30_000 });
  return (label) => sidebar.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: label }) });
}

/**
 * Closes the window and opens the same folder again, in the same profile (its remembered answers kept);
 * `meanwhile` runs while no window is open.
 */
async function reopen(wb, meanwhile = () => {}) {
  const url = wb.page.url();
  await wb.page.goto('about:blank');
  meanwhile();
  await wb.page.goto(url, { waitUntil: 'domcontentloaded' });
  await wb.page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
}

/** Drags the side bar's edge to the right, so that a row's whole description shows. */
async function widenSideBar(wb) {
  const box = await wb.page.locator('.part.sidebar').boundingBox();
  const y = box.y + box.height / 2;
  await wb.page.mouse.move(box.x + box.width, y);
  await wb.page.mouse.down();
  await wb.page.mouse.move(box.x + box.width + 300, y, { steps: 10 });
  await wb.page.mouse.up();
}

const ASK = { 'datakitCi.automaticBuilds': true, 'datakitCi.askBeforeFirstBuild': true };

describe('the first-run prompt', () => {
  it('asks before building a repository it never built; nothing runs while it asks, after Not now, or after a reopen, until Build Now is clicked', async (t) => {
    let fx;
    const wb = await openWorkbench({ name: 'first-run-not-now', settings: ASK, folder: (runDir) => (fx = makeFirstRunRepo(runDir)).dir });
    try {
      const row = await openView(wb);
      const prompt = await thePrompt(t, wb);
      assert.match(await prompt.innerText(), /They run their commands \(installs, linters, tests\) on this machine\./);
      for (const name of ['Build now', 'Always', 'Not now']) { assert.equal(await prompt.getByRole('button', { name }).count(), 1, `a ${name} button`); }
      // While it asks: the jobs are listed, not built, and none has run.
      for (const job of ['mark', 'check']) { await row(new RegExp(`^${job}$`)).filter({ hasText: /not built/ }).waitFor({ timeout: 60_000 }); }
      assert.deepEqual(ranLines(fx.ran), [], 'no job ran while the question is shown');
      assert.ok(await prompt.isVisible(), 'the question is still shown');
      await wb.screenshot('first-run-prompt.png');

      await prompt.getByRole('button', { name: 'Not now' }).click();
      await prompt.waitFor({ state: 'detached', timeout: 30_000 });
      // The log says the answer was taken; then nothing runs.
      await outputSays(t, wb, /First build of app: Not now: nothing is built automatically/);
      await wb.sideBarIdle(60_000);
      for (const job of ['mark', 'check']) { assert.match(await row(new RegExp(`^${job}$`)).innerText(), /not built/); }
      assert.deepEqual(ranLines(fx.ran), [], 'no job ran after Not now');
      await wb.screenshot('first-run-not-now.png');

      // A reopened window remembers Not now: no question, nothing built, and the log says why.
      await reopen(wb);
      const row2 = await reopenedView(wb);
      for (const job of ['mark', 'check']) { await row2(new RegExp(`^${job}$`)).filter({ hasText: /not built/ }).waitFor({ timeout: 60_000 }); }
      await outputSays(t, wb, /app was never built and you said Not now: nothing is built automatically until a build is asked for/);
      await wb.sideBarIdle(60_000);
      for (const job of ['mark', 'check']) { assert.match(await row2(new RegExp(`^${job}$`)).innerText(), /not built/); }
      assert.equal(await wb.page.locator('.notifications-toasts .notification-toast', { hasText: NEVER_BUILT }).count(), 0, 'not asked again');
      assert.deepEqual(ranLines(fx.ran), [], 'no job ran after the reopen');
      await wb.screenshot('first-run-not-now-reopened.png');

      // Build Now, from the view's title: the jobs run, once each.
      await wb.page.locator('.part.sidebar').getByRole('button', { name: 'Build Now' }).first().click();
      for (const job of ['mark', 'check']) { await row2(new RegExp(`^${job}$`)).locator('.codicon-pass').waitFor({ timeout: 120_000 }); }
      assert.deepEqual(ranLines(fx.ran), ['check', 'mark']);
      await wb.screenshot('first-run-built-by-hand.png');
    } finally { await wb.close(); }
  });

  it('Build now builds the jobs at once, once each', async (t) => {
    let fx;
    const wb = await openWorkbench({ name: 'first-run-build-now', settings: ASK, folder: (runDir) => (fx = makeFirstRunRepo(runDir)).dir });
    try {
      const row = await openView(wb);
      const prompt = await thePrompt(t, wb);
      assert.deepEqual(ranLines(fx.ran), [], 'no job ran while the question is shown');
      await prompt.getByRole('button', { name: 'Build now' }).click();
      await prompt.waitFor({ state: 'detached', timeout: 30_000 });
      for (const job of ['mark', 'check']) { await row(new RegExp(`^${job}$`)).locator('.codicon-pass').waitFor({ timeout: 120_000 }); }
      assert.deepEqual(ranLines(fx.ran), ['check', 'mark']);
      await wb.screenshot('first-run-build-now.png');
    } finally { await wb.close(); }
  });

  it('Always builds at once and is remembered: reopened with its results gone, the repository is built without a question', async (t) => {
    let fx;
    const wb = await openWorkbench({ name: 'first-run-always', settings: ASK, folder: (runDir) => (fx = makeFirstRunRepo(runDir)).dir });
    try {
      let row = await openView(wb);
      const prompt = await thePrompt(t, wb);
      await prompt.getByRole('button', { name: 'Always' }).click();
      await prompt.waitFor({ state: 'detached', timeout: 30_000 });
      for (const job of ['mark', 'check']) { await row(new RegExp(`^${job}$`)).locator('.codicon-pass').waitFor({ timeout: 120_000 }); }
      assert.deepEqual(ranLines(fx.ran), ['check', 'mark']);

      // Without its results the repository is one never built again: only the remembered Always builds it
      // without asking (a question would hold the build until answered, and nobody answers it here).
      await reopen(wb, () => fs.rmSync(path.join(fx.dir, '.git', 'datakit-ci'), { recursive: true, force: true }));
      row = await reopenedView(wb);
      for (const job of ['mark', 'check']) { await row(new RegExp(`^${job}$`)).locator('.codicon-pass').waitFor({ timeout: 120_000 }); }
      assert.deepEqual(ranLines(fx.ran), ['check', 'check', 'mark', 'mark'], 'built again, without a question answered');
      assert.equal(await wb.page.locator('.notifications-toasts .notification-toast', { hasText: NEVER_BUILT }).count(), 0, 'no question shown');
      await wb.screenshot('first-run-always-reopened.png');
    } finally { await wb.close(); }
  });
});

describe('a saved suggestion keeps its results', () => {
  it('suggested jobs run from the tree, saved as .datakit-ci.json and committed: the new HEAD\'s jobs are hits, run once', async (t) => {
    let dir;
    let ran;
    const script = (name) => `node -e "require('fs').appendFileSync('${ran}', '${name}\\n'); console.log('${name} ok')"`;
    const wb = await openWorkbench({
      name: 'first-run-suggestion',
      folder: (runDir) => {
        ran = path.join(runDir, 'ws', 'tiny.ran');
        const pkg = { name: 'tiny', private: true, scripts: { lint: script('lint'), test: script('test') } };
        return (dir = makeRepo(path.join(runDir, 'ws', 'tiny'), [{ message: 'Tiny', files: { 'package.json': JSON.stringify(pkg, null, 2) + '\n', 'index.js': 'module.exports = 1;\n' } }]));
      },
    });
    try {
      const row = await openView(wb);
      const first = git(dir, 'rev-parse', 'HEAD');
      await row(/^No \.datakit-ci\.json: 2 jobs suggested from package\.json$/).waitFor({ timeout: 60_000 });
      const head = row(new RegExp(`^main @ ${first.slice(0, 7)}`));
      await head.hover();
      await head.getByRole('button', { name: 'Run Suggested Jobs' }).click();
      for (const job of ['lint', 'test']) { await row(new RegExp(`^${job}$`)).locator('.codicon-pass').waitFor({ timeout: 120_000 }); }
      assert.deepEqual(ranLines(ran), ['lint', 'test']);

      // Saved from the target's button: the file is written to the work tree and opened.
      await wb.sideBarIdle(60_000);
      await head.hover();
      await head.getByRole('button', { name: 'Save Suggested Jobs as .datakit-ci.json' }).click();
      await wb.page.locator('.tabs-container .tab', { hasText: '.datakit-ci.json' }).waitFor({ timeout: 30_000 });
      const config = path.join(dir, '.datakit-ci.json');
      assert.match(fs.readFileSync(config, 'utf8'), /"lint": \{ "run": "npm run lint" \},\n[\s\S]*"test": \{ "run": "npm run test" \}/);

      git(dir, 'add', '.datakit-ci.json');
      git(dir, 'commit', '-q', '-m', 'Save the suggested jobs');
      const second = git(dir, 'rev-parse', 'HEAD');
      // The new HEAD's jobs: passed, reused from the build of the commit before; none ran again.
      await row(new RegExp(`^main @ ${second.slice(0, 7)}`)).waitFor({ timeout: 60_000 });
      for (const job of ['lint', 'test']) {
        await row(new RegExp(`^${job}$`)).filter({ hasText: /passed · cached · / }).waitFor({ timeout: 120_000 });
      }
      // Where from is in the row's tooltip: the build of the commit before.
      assert.match(await wb.rowHover(/^lint$/, 'lint passed', t), new RegExp(`^lint passed\\s+Cached · built for ${first.slice(0, 7)}\\.`));
      await wb.page.mouse.move(0, 0);
      await wb.sideBarIdle(60_000);
      await widenSideBar(wb);
      assert.equal(await row(/^No \.datakit-ci\.json/).count(), 0, 'no suggestion any more');
      assert.equal(await row(/^(lint|test)$/).locator('.codicon-pass').count(), 2);
      assert.deepEqual(ranLines(ran), ['lint', 'test'], 'each job ran once');
      for (const job of ['lint', 'test']) {
        const r = runCli(dir, ['history', job, '--json']);
        assert.equal(r.code, 0, r.err);
        const builds = JSON.parse(r.out).builds;
        assert.deepEqual(builds.map((b) => [b.result, b.source]), [['success', first]], `${job}: one build, of the first commit`);
      }
      await wb.screenshot('first-run-suggestion-committed.png');
    } finally { await wb.close(); }
  });
});
