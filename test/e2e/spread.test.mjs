// A commit spread over CI runners (`build --fetch --push --runners N`), seen from an editor of the same
// commit: a job a runner has claimed on origin shows as "building on <runner>" until its result is pushed,
// then as that result, fetched; nothing runs in the window.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWorkbench } from './workbench.mjs';
import { CLI, GIT_ENV, git, makeRepo } from '../fixtures/repo.mjs';

/** `unit` waits for `release` next to the repository; `docs` is quick. Origin is a bare repository beside it. */
function makeSpreadFixture(dir, release) {
  makeRepo(dir, [{ message: 'Start', files: {
    'src/a.txt': 'ok\n',
    '.datakit-ci.json': JSON.stringify({ jobs: {
      unit: { run: `while [ ! -e '${release}' ]; do sleep 0.2; done; echo 'all tests pass'`, inputs: ['src'] },
      docs: { run: 'echo docs ok', inputs: ['src'] },
    } }, null, 2) + '\n',
  } }]);
  const origin = path.join(path.dirname(dir), 'origin.git');
  git(path.dirname(dir), 'clone', '-q', '--bare', dir, origin);
  git(dir, 'remote', 'add', 'origin', origin);
  return dir;
}

describe('a commit spread over runners, from the editor', () => {
  let wb;
  let page;
  let runner;
  let release;
  const row = (label) => wb.row(label);
  const description = (label) => wb.description(label);
  const runCommand = (title) => wb.runCommand(title);

  before(async () => {
    wb = await openWorkbench({ name: 'spread', settings: { 'datakitCi.automaticBuilds': false }, folder: (runDir) => {
      release = path.join(runDir, 'ws', 'unit.release');
      return makeSpreadFixture(path.join(runDir, 'ws', 'app'), release);
    } });
    page = wb.page;
    await page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
    await row(/^unit$/).waitFor({ timeout: 60_000 });
  });
  after(async () => {
    if (release) { fs.writeFileSync(release, ''); }
    runner?.kill();
    await wb?.close();
  });

  it('shows the job a runner claimed as "building on <runner>", then its pushed result once fetched', async () => {
    const clone = path.join(wb.runDir, 'ws', 'runner');
    git(wb.runDir, 'clone', '-q', path.join(wb.runDir, 'ws', 'origin.git'), clone);
    runner = spawn(process.execPath, [CLI, 'build', '--fetch', '--push', '--runners', '2'], {
      cwd: clone, env: { ...process.env, ...GIT_ENV, CI: 'true', DATAKIT_CI_CACHE_DIR: path.join(wb.runDir, 'runner-cache') }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    runner.stderr.on('data', (b) => { said += b; });
    const exited = new Promise((r) => runner.on('exit', (code) => r(code)));
    // docs is pushed at once; unit stays claimed until released.
    const origin = path.join(wb.runDir, 'ws', 'origin.git');
    const refs = (prefix) => git(origin, 'for-each-ref', '--format=%(refname)', prefix).split('\n').filter(Boolean);
    for (const until = Date.now() + 120_000; ;) {
      if (refs('refs/datakit-ci-claims/').length === 1 && refs('refs/datakit-ci/').length === 1) { break; }
      assert.equal(runner.exitCode, null, `the runner ended early: ${said}`);
      assert.ok(Date.now() < until, `no claim of unit and result of docs on origin after 120 s: ${said}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    await runCommand('DataKit CI: Fetch Results from Origin');
    await row(/^unit$/).locator('.codicon-cloud').waitFor({ timeout: 60_000 });
    assert.match(await description(/^unit$/), new RegExp(`^building on [ -~]+ pid ${runner.pid}$`));
    assert.match(await row(/^unit$/).getAttribute('aria-label'), new RegExp(`^unit, building on [ -~]+ pid ${runner.pid}$`));
    assert.match(await description(/^docs$/), /^passed · cached · /);
    // The status bar counts it apart, with the same cloud, and says so in words.
    const bar = page.locator('.part.statusbar .statusbar-item', { hasText: /^DataKit CI:/ });
    await bar.locator('.codicon-cloud').waitFor({ timeout: 60_000 });
    assert.match(await bar.evaluate((el) => el.querySelector('[aria-label]')?.getAttribute('aria-label') ?? el.getAttribute('aria-label')),
      /^DataKit CI, main @ [0-9a-f]{7}: 1 building on another runner, 1 passed$/);
    await page.locator('.part.statusbar').screenshot({ path: path.join(path.dirname(await wb.screenshot('spread-building-on-runner.png')), 'spread-status-bar.png') });

    fs.writeFileSync(release, '');
    assert.equal(await exited, 0, said);
    await runCommand('DataKit CI: Fetch Results from Origin');
    await row(/^unit$/).locator('.codicon-pass').waitFor({ timeout: 60_000 });
    assert.match(await description(/^unit$/), /^passed · cached · /);
    await wb.screenshot('spread-result-fetched.png');
  });
});
