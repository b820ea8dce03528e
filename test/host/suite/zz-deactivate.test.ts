// Runs last (files run in name order): it deactivates the extension.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, git, ID, jobNode, waitFor } from './helpers';

const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const release = () => path.join(path.dirname(folder()), 'fixture.release');

/** The live processes whose environment names this job's key (every process of its run carries it). */
function processesOf(digest: string): number[] {
  const found: number[] = [];
  for (const e of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const environ = fs.readFileSync(`/proc/${e}/environ`);
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (environ.includes(`DATAKIT_CI_KEY=${digest}\0`) && state !== 'Z') { found.push(Number(e)); }
    } catch { /* gone, or not ours */ }
  }
  return found;
}

describe('deactivation', function () {
  this.timeout(60_000);

  it('cancels a running build, kills its processes and waits for the Cancelled result to be saved', async function () {
    if (process.platform !== 'linux') { this.skip(); }
    const a = await api();
    fs.rmSync(release(), { force: true });
    const slow = await jobNode(a, 'slow');
    await vscode.commands.executeCommand('datakitCi.rebuild', slow);
    const running = await waitFor('slow to run', async () => {
      const n = await jobNode(a, 'slow');
      return n.job.status?.result.kind === 'pending' && n.job.status.result.reason === 'Running' && n;
    });
    const digest = running.job.key.digest;
    await waitFor('the job\'s processes', () => processesOf(digest).length > 0);
    // The extension host calls the very same function when the window closes.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the extension's own module, as the host loaded it
    const extension = require(path.join(vscode.extensions.getExtension(ID)!.extensionPath, 'dist', 'extension.js')) as { deactivate(): Promise<void> };
    await extension.deactivate();
    assert.deepStrictEqual(processesOf(digest), [], 'no process of the job outlives deactivation');
    const ref = a.internals.sessions.all[0].jobs.ref(running.job.key);
    assert.match(git(folder(), `--git-dir=${path.join(folder(), '.git', 'datakit-ci')}`, 'log', '-1', '--format=%s', ref), /^\S+ @ [0-9a-f]{7}: cancelled after [\d.]+ s$/);
  });
});
