// Issue 18's work in progress, as a person sees it in a real browser: a finding of HEAD's build and of the
// working tree's shown once; the first failing commit of each job on a branch whose base already fails; HEAD
// built first after quick commits (the builds of the HEADs left before they started dropped), and builds
// cancelled from the Builds view.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLINT_BIN, ESLINT_FLAT_CONFIG, git, makeRepo, runCli } from '../fixtures/repo.mjs';
import { openWorkbench } from './workbench.mjs';

/** The Builds view, opened from the activity bar, and its rows by label. */
async function openBuilds(wb) {
  await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
  const sidebar = wb.page.locator('.part.sidebar');
  const row = (label) => sidebar.locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: label }) });
  return { sidebar, row };
}

/** Drags the side bar's edge to `width` pixels: its rows' descriptions in full in the screenshots. */
async function widenSideBar(wb, width = 640) {
  const box = await wb.page.locator('.part.sidebar').boundingBox();
  await wb.page.mouse.move(box.x + box.width + 1, box.y + box.height / 2);
  await wb.page.mouse.down();
  await wb.page.mouse.move(box.x + width, box.y + box.height / 2, { steps: 5 });
  await wb.page.mouse.up();
}


// HEAD: `greting` (line 2) and `nme` (line 3) are not defined. The working tree keeps line 2 as it is, fixes
// line 3 and adds `wrld` on line 4.
const APP_HEAD = 'const greeting = \'hello\';\nconsole.log(greting);\nconsole.log(nme);\n';
const APP_EDITED = 'const greeting = \'hello\';\nconsole.log(greting);\nconsole.log(greeting);\nconsole.log(wrld);\n';

/**
 * HEAD's lint fails; src/app.js is edited on disk (before the window opens when `dirtyAtOpen`, else once
 * HEAD's findings are in the Problems panel); the working tree is built from its row's button. Then the
 * Problems panel holds `greting` (both builds report it) once, and `nme` and `wrld` said as HEAD's and the
 * working tree's alone.
 */
async function oneFindingOnce(name, { dirtyAtOpen }) {
  const config = { jobs: { lint: { run: `"${process.execPath}" "${ESLINT_BIN}" .`, inputs: ['src', 'eslint.config.mjs'] } } };
  let dir;
  const wb = await openWorkbench({
    name, settings: { 'datakitCi.automaticBuilds': true, 'datakitCi.buildWorkingTree': 'manual' },
    folder: (runDir) => {
      dir = makeRepo(path.join(runDir, 'ws', 'linted'), [{ message: 'Lint', files: { 'eslint.config.mjs': ESLINT_FLAT_CONFIG, 'src/app.js': APP_HEAD, '.datakit-ci.json': JSON.stringify(config, null, 2) } }]);
      if (dirtyAtOpen) { fs.writeFileSync(path.join(dir, 'src', 'app.js'), APP_EDITED); }
      return dir;
    },
  });
  try {
    const { page } = wb;
    const { row } = await openBuilds(wb);
    await widenSideBar(wb);
    // HEAD's lint fails (automatic builds), and its findings are in the Problems panel.
    await row(/^lint$/).locator('.codicon-error').waitFor({ timeout: 90_000 });
    await page.keyboard.press('Control+Shift+M');
    const problems = page.locator('.markers-panel .monaco-list-row');
    const problem = (text) => problems.filter({ hasText: text });
    await problem('\'nme\' is not defined').first().waitFor({ timeout: 60_000 });
    await problem('\'greting\' is not defined').first().waitFor({ timeout: 60_000 });

    // The file edited on disk, keeping the finding of line 2; the working tree built from its row's button.
    if (!dirtyAtOpen) { fs.writeFileSync(path.join(dir, 'src', 'app.js'), APP_EDITED); }
    const worktree = row(/^Working tree · 1 changed file$/);
    await worktree.waitFor({ timeout: 60_000 });
    await worktree.hover();
    await worktree.getByRole('button', { name: 'Build the Working Tree' }).click();
    // Its lint, shown: the working tree's target is above HEAD's, so its lint is the first row named lint.
    await worktree.locator('.monaco-tl-twistie').click();
    await row(/^lint$/).nth(1).waitFor({ timeout: 30_000 });
    await row(/^lint$/).first().locator('.codicon-error').waitFor({ timeout: 90_000 });

    // The working tree's own finding, and HEAD's alone, each said as such once both builds are matched.
    const wrld = problem('\'wrld\' is not defined');
    await wrld.filter({ hasText: 'DataKit CI: lint · working tree' }).first().waitFor({ timeout: 90_000 });
    const nme = problem('\'nme\' is not defined');
    await nme.filter({ hasText: 'DataKit CI: lint · HEAD' }).first().waitFor({ timeout: 60_000 });
    await wb.screenshot(`${name}.png`);

    // The finding both report: once, as the job's, neither build's alone.
    const all = JSON.stringify(await problems.allInnerTexts());
    const greting = problem('\'greting\' is not defined');
    assert.equal(await greting.count(), 1, `'greting' once in the Problems panel, not twice: ${all}`);
    const text = (await greting.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /DataKit CI: lint\s*\(?no-undef.*\[Ln 2, Col 13\]/);
    assert.doesNotMatch(text, /· (HEAD|working tree)/);
    assert.equal(await wrld.count(), 1, all);
    assert.match((await wrld.innerText()).replace(/\s+/g, ' '), /DataKit CI: lint · working tree.*\[Ln 4, Col 13\]/);
    assert.equal(await nme.count(), 1, all);
    assert.match((await nme.innerText()).replace(/\s+/g, ' '), /DataKit CI: lint · HEAD.*\[Ln 3, Col 13\]/);
  } finally { await wb.close(); }
}

describe('one finding once with a dirty tree', () => {
  it('a finding that HEAD\'s build and the working tree\'s both report is in the Problems panel once; the others say which build alone reports them', async () => {
    await oneFindingOnce('work-one-finding-once', { dirtyAtOpen: false });
  });

  it('the same when the window opens on the dirty tree (HEAD\'s findings are then on its own version of the file)', async () => {
    await oneFindingOnce('work-one-finding-once-opened-dirty', { dirtyAtOpen: true });
  });
});

/**
 * `main`, where `lint` fails (a bad word in src) and `docs` passes, built by the command-line tool; the
 * branch `feature` (no upstream) of three commits, the second of which breaks `docs`, checked out.
 */
function makeBranchFixture(dir, cacheDir) {
  const config = {
    jobs: {
      lint: { run: 'if grep -q bad src/*.txt; then echo "lint: a bad word in src" >&2; exit 1; fi; echo clean', inputs: ['src'] },
      docs: { run: 'if grep -q broken docs/*.md; then echo "docs: a broken link" >&2; exit 1; fi; echo docs ok', inputs: ['docs'] },
    },
  };
  makeRepo(dir, [{ message: 'Start', files: { 'src/a.txt': 'a bad word\n', 'docs/index.md': '# docs\n', '.datakit-ci.json': JSON.stringify(config, null, 2) + '\n' } }]);
  const r = runCli(dir, ['build'], { DATAKIT_CI_CACHE_DIR: cacheDir });
  if (r.code !== 1) { throw new Error(`datakit-ci build on main ended with ${r.code}, not 1 (lint fails): ${r.err}`); }
  git(dir, 'checkout', '-q', '-b', 'feature');
  for (const [message, file, content] of [['Add b', 'src/b.txt', 'b\n'], ['Break the docs', 'docs/index.md', '# docs\nbroken link\n'], ['Add c', 'src/c.txt', 'c\n']]) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', message);
  }
  return dir;
}

describe('first failing per job on a branch whose base already fails', () => {
  it('marks the commit that broke docs as its first failing, no commit for lint, and says lint was already failing on main', async () => {
    let dir;
    const wb = await openWorkbench({
      name: 'work-first-failing', settings: { 'datakitCi.targets': 'branch' },
      folder: (runDir) => (dir = makeBranchFixture(path.join(runDir, 'ws', 'branchy'), path.join(runDir, 'build-cache'))),
    });
    try {
      const { sidebar, row } = await openBuilds(wb);
      await widenSideBar(wb);
      const sha = (rev) => git(dir, 'rev-parse', '--short=7', rev);
      const head = row(new RegExp(`^feature @ ${sha('HEAD')}$`));
      const broke = row(new RegExp(`^${sha('HEAD~1')} Break the docs$`));
      const first = row(new RegExp(`^${sha('HEAD~2')} Add b$`));
      await head.waitFor({ timeout: 60_000 });
      await broke.waitFor({ timeout: 60_000 });
      await first.waitFor({ timeout: 60_000 });
      // Every commit of the branch built, from the view's title.
      await sidebar.getByRole('button', { name: 'Build Now' }).click();
      await broke.filter({ hasText: /first failing: docs · 2 failed/ }).waitFor({ timeout: 120_000 });
      await first.filter({ hasText: /1 failed · 1 passed/ }).waitFor({ timeout: 120_000 });
      const already = row(new RegExp(`^lint was already failing on main \\(${sha('main')}\\)$`));
      await already.waitFor({ timeout: 60_000 });
      // HEAD's own jobs: lint and docs both fail there.
      await row(/^lint$/).locator('.codicon-error').waitFor({ timeout: 60_000 });
      await row(/^docs$/).locator('.codicon-error').waitFor({ timeout: 60_000 });
      await wb.screenshot('work-first-failing-per-job.png');

      assert.match((await broke.innerText()).replace(/\s+/g, ' '), /^[0-9a-f]{7} Break the docs\s*first failing: docs · 2 failed$/, 'docs broke here; lint is not said (it failed before the branch)');
      assert.doesNotMatch(await first.innerText(), /first failing/, 'the first commit broke nothing');
      assert.doesNotMatch(await head.innerText(), /first failing/, 'HEAD broke nothing: docs broke before it');
      assert.equal(await sidebar.locator('.monaco-list-row', { hasText: /first failing/ }).count(), 1, 'one commit marked');
      assert.equal(await already.count(), 1);
    } finally { await wb.close(); }
  });
});

/**
 * Two jobs, `first` and `second`: each appends `started <job> <n>` to `ran` (n is src/n.txt) and waits for
 * the file `release-<n>` beside the repository. With one build slot, one of them runs and the other waits.
 */
function makeQuickFixture(dir) {
  const side = path.dirname(dir);
  const ran = path.join(side, 'quick.ran');
  const job = (name) => ({ run: `n=$(cat src/n.txt); echo "started ${name} $n" >> '${ran}'; while [ ! -e "${side}/release-$n" ]; do sleep 0.1; done; echo "released $n"`, inputs: ['src'] });
  makeRepo(dir, [{ message: 'Commit 1', files: { 'src/n.txt': '1\n', '.datakit-ci.json': JSON.stringify({ jobs: { first: job('first'), second: job('second') } }, null, 2) + '\n' } }]);
  return { dir, ran, release: (n) => fs.writeFileSync(path.join(side, `release-${n}`), '') };
}

describe('HEAD first after four quick commits', () => {
  it('builds HEAD next after quick commits, drops the builds of the HEADs left before they started, and cancels from a commit\'s menu and from the view\'s title', async () => {
    let fixture;
    const wb = await openWorkbench({
      name: 'work-head-first', settings: { 'datakitCi.automaticBuilds': true, 'datakitCi.maxParallelBuilds': 1 },
      folder: (runDir) => { fixture = makeQuickFixture(path.join(runDir, 'ws', 'quick')); return fixture.dir; },
    });
    const { dir, ran } = fixture;
    const started = () => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean).sort() : []);
    const commit = (n) => { fs.writeFileSync(path.join(dir, 'src', 'n.txt'), `${n}\n`); git(dir, 'commit', '-qam', `Commit ${n}`); return git(dir, 'rev-parse', 'HEAD'); };
    try {
      const { page } = wb;
      const { sidebar, row } = await openBuilds(wb);
      await widenSideBar(wb);
      const jobRows = sidebar.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^(first|second)$/ }) });
      const headRow = (sha) => row(new RegExp(`^main @ ${sha.slice(0, 7)}$`));
      const running = '.codicon-sync.codicon-modifier-spin';

      // Commit 1's jobs: one runs (it holds the one slot), the other waits.
      await jobRows.locator(running).first().waitFor({ timeout: 90_000 });
      await jobRows.locator('.codicon-clock').first().waitFor({ timeout: 60_000 });
      const holding = started();
      assert.equal(holding.length, 1, `one job of commit 1 started: ${holding}`);

      // Three commits more in quick succession, while commit 1's job runs.
      const shas = [git(dir, 'rev-parse', 'HEAD'), commit(2), commit(3), commit(4)];
      await headRow(shas[3]).waitFor({ timeout: 60_000 });
      // HEAD's jobs wait for the slot with nothing queued ahead of them: the builds of commits 1 (the one
      // that had not started), 2 and 3 were dropped.
      await jobRows.filter({ hasText: /queued · next/ }).waitFor({ timeout: 60_000 });
      await jobRows.filter({ hasText: /queued · 1 ahead/ }).waitFor({ timeout: 60_000 });
      assert.equal(await jobRows.count(), 2);
      assert.deepEqual(started(), holding, 'nothing else started while commit 1\'s job held the slot');
      await wb.screenshot('work-head-first-queued.png');

      // Commit 1's job finishes: HEAD's two run and pass.
      fixture.release(1);
      fixture.release(4);
      await jobRows.nth(0).locator('.codicon-pass').waitFor({ timeout: 90_000 });
      await jobRows.nth(1).locator('.codicon-pass').waitFor({ timeout: 90_000 });
      assert.deepEqual(started(), [...holding, 'started first 4', 'started second 4'].sort(), 'built: the job that had started on commit 1, and HEAD\'s; nothing of commits 2 and 3');
      for (const job of ['first', 'second']) {
        const h = runCli(dir, ['history', job, '--json']);
        assert.equal(h.code, 0, h.err);
        const builds = JSON.parse(h.out).builds;
        const of = (sha) => builds.filter((b) => b.source === sha).map((b) => b.result);
        assert.deepEqual(of(shas[3]), ['success'], `${job} of HEAD passed: ${h.out}`);
        for (const sha of shas.slice(1, 3)) { assert.deepEqual(of(sha).filter((r) => r !== 'cancelled'), [], `${job} of ${sha.slice(0, 7)} never built (at most saved as cancelled): ${h.out}`); }
        assert.deepEqual(of(shas[0]), holding[0].startsWith(`started ${job} `) ? ['success'] : ['cancelled'], `${job} of commit 1: built if it had started, else dropped: ${h.out}`);
      }
      await wb.screenshot('work-head-first-passed.png');

      // A fifth commit: one job runs, the other waits; "Cancel the Builds of This Commit" on its row cancels both.
      const fifth = commit(5);
      await headRow(fifth).waitFor({ timeout: 60_000 });
      await jobRows.locator(running).first().waitFor({ timeout: 90_000 });
      await jobRows.locator('.codicon-clock').first().waitFor({ timeout: 60_000 });
      await headRow(fifth).click({ button: 'right' });
      const menu = page.locator('.context-view .monaco-menu');
      await menu.waitFor({ timeout: 30_000 });
      await menu.getByRole('menuitem', { name: /^Cancel the Builds of This Commit/ }).hover();
      await page.keyboard.press('Enter');
      const pick = page.locator('.quick-input-widget input[placeholder^="Pick a commit"]');
      await jobRows.nth(0).locator('.codicon-circle-slash').waitFor({ timeout: 60_000 }).catch(async (e) => {
        if (await pick.isVisible()) { throw new Error('Cancel the Builds of This Commit from the commit\'s context menu asked to "Pick a commit": the command lost its row'); }
        throw e;
      });
      await jobRows.nth(1).locator('.codicon-circle-slash').waitFor({ timeout: 60_000 });
      assert.equal(await jobRows.locator(running).count(), 0, 'nothing runs');
      assert.equal(started().filter((l) => l.endsWith(' 5')).length, 1, 'the waiting job never started');
      await wb.screenshot('work-cancel-commit.png');

      // A sixth: the same, cancelled with Cancel All in the view's title.
      const sixth = commit(6);
      await headRow(sixth).waitFor({ timeout: 60_000 });
      await jobRows.locator(running).first().waitFor({ timeout: 90_000 });
      await jobRows.locator('.codicon-clock').first().waitFor({ timeout: 60_000 });
      await sidebar.getByRole('button', { name: 'Cancel All' }).click();
      await page.locator('.notifications-toasts', { hasText: 'DataKit CI: cancelled 2 builds.' }).waitFor({ timeout: 30_000 });
      await jobRows.nth(0).locator('.codicon-circle-slash').waitFor({ timeout: 60_000 });
      await jobRows.nth(1).locator('.codicon-circle-slash').waitFor({ timeout: 60_000 });
      assert.equal(await jobRows.locator(`${running}, .codicon-clock`).count(), 0, 'nothing runs or waits');
      assert.equal(started().filter((l) => l.endsWith(' 6')).length, 1, 'the waiting job never started');
      await wb.screenshot('work-cancel-all.png');
    } finally {
      for (const n of [1, 4, 5, 6]) { fixture?.release(n); }
      await wb.close();
    }
  });
});
