// Appends 50 MB to a live log in 1 KB writes under the default 16 MiB cap, with one live subscriber,
// and reports the time and the peak RSS. Run after `npx tsc -p tsconfig.test.json`:
//   node bench/liveLog.bench.mjs [totalMB] [writeBytes]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LiveLog } = createRequire(import.meta.url)(path.join(root, 'out/src/engine/liveLog.js'));

const totalMB = Number(process.argv[2] ?? 50);
const writeBytes = Number(process.argv[3] ?? 1024);
const writes = Math.ceil((totalMB * 1e6) / writeBytes);
// A few distinct lines, so the strings are not all one shared constant.
const lines = Array.from({ length: 16 }, (_, i) => `[${i}] `.padEnd(writeBytes - 1, 'abcdefghij'[i % 10]) + '\n');

const rssBefore = process.memoryUsage().rss;
const log = new LiveLog('bench/log', 'bench');
let delivered = 0;
log.subscribe(0, (chunk) => { delivered += chunk.length; });
const t0 = performance.now();
for (let i = 0; i < writes; i++) { log.write(lines[i % lines.length]); }
const t1 = performance.now();
const contents = log.contents();
const t2 = performance.now();
const late = [];
log.subscribe(0, (chunk) => late.push(chunk));
const t3 = performance.now();
log.finish();

const mb = (n) => (n / 1e6).toFixed(1);
console.log(`writes: ${writes} x ${writeBytes} B = ${mb(writes * writeBytes)} MB; delivered live: ${mb(delivered)} MB`);
console.log(`append: ${(t1 - t0).toFixed(0)} ms (${((t1 - t0) * 1e3 / writes).toFixed(2)} µs/write)`);
console.log(`contents(): ${(t2 - t1).toFixed(0)} ms, ${mb(Buffer.byteLength(contents))} MB, dropped ${log.droppedBytes} B`);
console.log(`subscribe(0) after truncation: ${(t3 - t2).toFixed(0)} ms`);
console.log(`RSS before: ${mb(rssBefore)} MB; peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
