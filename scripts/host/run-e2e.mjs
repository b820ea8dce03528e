#!/usr/bin/env node
// Runs the browser tests (test/e2e/*.test.mjs) with Node's test runner, one file at a time: each file
// starts its own code-server and Chromium.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureHostTools } from './setup.mjs';
import { PROJECT } from './paths.mjs';

ensureHostTools({ quiet: true });
const dir = path.join(PROJECT, 'test', 'e2e');
const files = process.argv.slice(2).length ? process.argv.slice(2)
  : fs.readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(dir, f));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: PROJECT });
process.exit(r.status ?? 1);
