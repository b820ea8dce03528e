// Cross-process locks on cache entries: one lock file per entry in the results repository, holding the
// builder's pid, so that the extension, the CLI and a second window never build one key twice at once.
import path = require('node:path');
import { promises as fs } from 'node:fs';
import type { EntryLocks } from '../../engine/cache';
import { DataKitError } from '../../shared/errors';
import { acquireLock, readLockHolder } from './lockFile';

const POLL_MS = 200;

export class FileEntryLocks implements EntryLocks {
  constructor(private readonly dir: string) {}

  private file(entryId: string): string {
    return path.join(this.dir, ...entryId.split('/')) + '.lock';
  }

  async tryAcquire(entryId: string): Promise<{ release(): Promise<void> } | { holder: number }> {
    const file = this.file(entryId);
    await fs.mkdir(path.dirname(file), { recursive: true });
    for (;;) {
      const handle = await acquireLock(file, { wait: false });
      if (handle) { return handle; }
      const holder = await readLockHolder(file);
      if (holder) { return { holder: holder.pid }; }
      // Released between the two looks, or a lock file being written: look again shortly.
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The pid of the live process holding the entry's lock, if any. */
  async holder(entryId: string): Promise<number | undefined> {
    return (await readLockHolder(this.file(entryId)))?.pid;
  }

  async waitUntilFree(entryId: string, signal: AbortSignal): Promise<void> {
    const file = this.file(entryId);
    while (await readLockHolder(file)) {
      if (signal.aborted) { throw new DataKitError('Cancelled', 'Cancelled'); }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, POLL_MS);
        function done(): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
        signal.addEventListener('abort', done, { once: true });
      });
    }
    if (signal.aborted) { throw new DataKitError('Cancelled', 'Cancelled'); }
  }
}
