// Runs the extension-host suite under @vscode/test-electron, on a machine that can download VS Code:
// the same configurations (workspace, settings, trust, environment) as the code-server runner.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

interface HostConfig {
  name: string;
  optIn?: boolean;
  trust?: boolean;
  settings?: Record<string, unknown>;
  setup(runDir: string): { folder?: string; workspace?: string; env?: Record<string, string> };
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const only = process.argv.slice(2);
  const { HOST_CONFIGS } = await import(path.join(root, 'test', 'host', 'configs.mjs')) as { HOST_CONFIGS: HostConfig[] };
  for (const config of HOST_CONFIGS.filter((c) => (only.length ? only.includes(c.name) : !c.optIn))) {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `dkci-electron-${config.name}-`));
    const userData = path.join(runDir, 'user-data');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', ...config.settings }));
    const { folder, workspace, env = {} } = config.setup(runDir);
    console.log(`[electron] ${config.name}`);
    await runTests({
      version: '1.100.3',
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'out', 'test', 'host', 'index'),
      launchArgs: [(workspace ?? folder)!, '--disable-extensions', '--user-data-dir', userData,
        ...(config.trust ? [] : ['--disable-workspace-trust'])],
      extensionTestsEnv: { ...env, DATAKIT_CI_HOST_CONFIG: config.name },
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
