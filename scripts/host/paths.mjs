// Where the one-time extension-host tooling lives: a git-ignored folder of the project, never $HOME.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST_DIR = process.env.DATAKIT_CI_HOST_DIR || path.join(PROJECT, '.vscode-host');
export const CODE_SERVER_VERSION = '4.100.3'; // the last code-server whose engines.node is 20 (VS Code 1.100.3)
export const PLAYWRIGHT_VERSION = '1.65.1';
export const CODE_SERVER_ENTRY = path.join(HOST_DIR, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const PLAYWRIGHT_DIR = path.join(HOST_DIR, 'pw', 'node_modules', 'playwright-core');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const RUNS_DIR = path.join(HOST_DIR, 'runs');
export const SCREENSHOTS_DIR = path.join(PROJECT, 'test-results', 'screenshots');
