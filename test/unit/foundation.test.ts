import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

describe('the package', () => {
  it('declares the extension, the CLI and the engine entry points that the build produces', () => {
    assert.equal(pkg.name, 'datakit-ci');
    assert.equal(pkg.main, './dist/extension.js');
    assert.equal(pkg.bin['datakit-ci'], './dist/cli.js');
    assert.equal(pkg.exports['./engine'], './dist/engine.js');
    for (const f of [pkg.main, pkg.bin['datakit-ci'], pkg.exports['./engine']]) {
      assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} is built`);
    }
  });

  it('declares limited support for untrusted workspaces and none for virtual ones, saying why (the untrusted host suite proves nothing runs)', () => {
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.match(pkg.capabilities.untrustedWorkspaces.description, /trusted/);
    assert.equal(pkg.capabilities.virtualWorkspaces.supported, false);
    assert.ok(pkg.capabilities.virtualWorkspaces.description.length > 10);
  });

  it('targets VS Code 1.100 with the matching API types', () => {
    assert.equal(pkg.engines.vscode, '^1.100.0');
    const types = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@types/vscode/package.json'), 'utf8'));
    assert.match(types.version, /^1\.100\./);
  });

  it('gives the view container an icon that exists', () => {
    const [container] = pkg.contributes.viewsContainers.activitybar;
    assert.ok(fs.readFileSync(path.join(ROOT, container.icon), 'utf8').includes('<svg'));
  });
});

describe('the bundles', () => {
  it('the engine bundle loads in plain Node, without VS Code', () => {
    const out = execFileSync(process.execPath, ['-e', `const e = require(${JSON.stringify(path.join(ROOT, 'dist/engine.js'))}); console.log(e.VERSION)`], { encoding: 'utf8' });
    assert.equal(out.trim(), pkg.version);
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'dist/engine.js'), 'utf8'), /require\("vscode"\)/);
  });

  it('the CLI prints its version and rejects an unknown command with exit 2', () => {
    const cli = path.join(ROOT, 'dist/cli.js');
    assert.equal(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).trim(), pkg.version);
    assert.throws(() => execFileSync(process.execPath, [cli, 'frobnicate'], { stdio: 'pipe' }), (e: { status: number }) => e.status === 2);
  });

  it('only the extension bundle refers to vscode', () => {
    assert.match(fs.readFileSync(path.join(ROOT, 'dist/extension.js'), 'utf8'), /require\("vscode"\)/);
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'dist/cli.js'), 'utf8'), /require\("vscode"\)/);
  });
});
