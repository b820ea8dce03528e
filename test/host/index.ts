// Loaded by the extension host through extensionTestsPath: the same contract under @vscode/test-electron
// and under the project's code-server runner. Which folder of tests runs is chosen by the runner's
// DATAKIT_CI_HOST_CONFIG (default: the trusted suite).
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const config = process.env.DATAKIT_CI_HOST_CONFIG ?? 'trusted';
  const dir = path.join(__dirname, config === 'trusted' ? 'suite' : config);
  // DATAKIT_CI_HOST_GREP: only the tests whose titles match (e.g. one benchmark).
  const grep = process.env.DATAKIT_CI_HOST_GREP;
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(dir, f));
  }
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      if (failures > 0) {
        reject(new Error(`${failures} extension-host test(s) failed`));
      } else {
        resolve();
      }
    });
  });
}
