// Issue 18, red to line on defaults, in a real browser: a job that runs the real ESLint and declares no
// problem matcher fails, and its error is in the Problems panel as an error at its line and column.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLINT_BIN, ESLINT_FLAT_CONFIG, makeRepo } from '../fixtures/repo.mjs';
import { openWorkbench } from './workbench.mjs';

// The mistake: `greting` (line 2, column 13) is not defined.
const APP = 'const greeting = \'hello\';\nconsole.log(greting);\n';

describe('the default problem matcher', () => {
  it('a job running the real eslint, with no problemMatcher, fails and puts its error at the line in the Problems panel', async () => {
    const config = { jobs: { lint: { run: `"${process.execPath}" "${ESLINT_BIN}" .`, inputs: ['src', 'eslint.config.mjs'] } } };
    const wb = await openWorkbench({
      name: 'problems-eslint', settings: { 'datakitCi.automaticBuilds': true },
      folder: (runDir) => makeRepo(path.join(runDir, 'ws', 'linted'), [{ message: 'Lint', files: { 'eslint.config.mjs': ESLINT_FLAT_CONFIG, 'src/app.js': APP, '.datakit-ci.json': JSON.stringify(config, null, 2) } }]),
    });
    try {
      await wb.page.locator('.part.activitybar').getByRole('tab', { name: /^DataKit CI/ }).click();
      const lint = wb.page.locator('.part.sidebar .monaco-list-row', { has: wb.page.locator('.label-name', { hasText: /^lint$/ }) });
      await lint.locator('.codicon-error').waitFor({ timeout: 90_000 });
      await wb.page.keyboard.press('Control+Shift+M');
      const problem = wb.page.locator('.markers-panel .monaco-list-row', { hasText: '\'greting\' is not defined' }).first();
      await problem.waitFor({ timeout: 30_000 });
      // The row: ESLint's message and rule, the job it comes from, the place; an error, not a warning.
      assert.match(await problem.innerText(), /'greting' is not defined[\s\S]*DataKit CI: lint[\s\S]*no-undef[\s\S]*\[Ln 2, Col 13\]/);
      assert.equal(await problem.locator('.codicon-error').count(), 1);
      assert.equal(await problem.locator('.codicon-warning').count(), 0);
      // The file it is about, above it.
      await wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'app.js' }).first().waitFor({ timeout: 30_000 });
      await wb.screenshot('problems-eslint-default-matcher.png');
    } finally { await wb.close(); }
  });
});
