// Node modules that most runs never need, loaded on first use: a fully cached build starts no process, and
// child_process brings net, dgram and tty with it; it writes no large blob, which streams are for, and inflates
// no object (measured: a few ms of every command's start).

import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';

let childProcessModule: typeof import('node:child_process') | undefined;

export function childProcess(): typeof import('node:child_process') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
  return (childProcessModule ??= require('node:child_process') as typeof import('node:child_process'));
}

let zlibModule: typeof import('node:zlib') | undefined;

/** zlib: a fully cached build inflates nothing (the objects it reads are in the cache of objects read). */
export function zlib(): typeof import('node:zlib') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
  return (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));
}

let inflater: ((data: Buffer, options?: import('node:zlib').ZlibOptions) => Promise<Buffer>) | undefined;

/** zlib's inflate, promised (off the main thread). */
export function inflateAsync(data: Buffer, options?: import('node:zlib').ZlibOptions): Promise<Buffer> {
  inflater ??= promisify(zlib().inflate) as (data: Buffer, options?: import('node:zlib').ZlibOptions) => Promise<Buffer>;
  return inflater(data, options);
}

let streamsModules: { pipeline: typeof import('node:stream/promises').pipeline; Readable: typeof import('node:stream').Readable } | undefined;

/** stream's Readable and stream/promises' pipeline. */
export function streams(): NonNullable<typeof streamsModules> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded when first needed */
  return (streamsModules ??= {
    pipeline: (require('node:stream/promises') as typeof import('node:stream/promises')).pipeline,
    Readable: (require('node:stream') as typeof import('node:stream')).Readable,
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * A value made on first use. For caches that a process may never use: \`lru-cache\` allocates every slot
 * when it is made, which each command's start would pay for nothing.
 */
export function lazily<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}

/**
 * An LRU cache of at most `entries` entries that takes memory as it fills: lru-cache given `max` allocates
 * every slot when it is made (0.15 ms for 1000, 0.5 ms for 4096), which each command's start paid for caches
 * of a few dozen entries; bounded by a size of 1 an entry instead, it grows as entries come.
 */
export function growingLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(entries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: entries, sizeCalculation: () => 1 });
}
