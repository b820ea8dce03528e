// Runs the extension-host suite under @vscode/test-electron, on a machine that can download VS Code.
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'datakit-ci-electron-'));
  // The same demo repository as the code-server runner opens.
  const { makeDemoRepo } = await import(path.join(root, 'test', 'fixtures', 'repo.mjs'));
  const folder = makeDemoRepo(path.join(workspace, 'demo'));
  await runTests({
    version: '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'host', 'index'),
    launchArgs: [folder, '--disable-extensions', '--disable-workspace-trust'],
    extensionTestsEnv: { DATAKIT_CI_HOST_CONFIG: 'trusted' },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
