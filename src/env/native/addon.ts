// Typed loader for the native addon (shm.cc): a SharedArrayBuffer over an mmap'd file, so BAR0 and DMA memory
// can be shared with worker_threads (postMessage of a SharedArrayBuffer shares the same memory).
// Built by `npm install` (node-gyp) into src/env/native/build/Release/tinynf_shm.node; this file is compiled to
// dist/src/env/native/addon.js, so the addon is found relative to the package root.
import * as fs from 'fs';
import * as path from 'path';
import { TinyNfError } from '../environment';

export interface ShmAddon {
  /**
   * mmap(fd, length, offset) MAP_SHARED, PROT_READ (+ PROT_WRITE if writable), plus MAP_POPULATE|MAP_LOCKED if
   * populateAndLock. The memory is munmap'd when the SharedArrayBuffer is garbage-collected (in every thread).
   */
  map(fd: number, length: number, offset: number, writable: boolean, populateAndLock: boolean): SharedArrayBuffer;
  /** Virtual address of the buffer's first byte (a Number: user-space addresses are < 2^47). */
  addressOf(buffer: SharedArrayBuffer): number;
  /**
   * Replace the mapping under a buffer from map() by anonymous zero pages, letting go of the file now (the VFIO
   * environment's close(): a BAR mapping holds the device fd, which holds the IOMMU group open).
   */
  release(buffer: SharedArrayBuffer): void;
}

let loaded: ShmAddon | undefined;

/**
 * What to do when tinynf's or koffi's install script did not run. npm 11.16 and later list dependencies whose
 * install scripts the project has not approved (package.json `allowScripts`); npm 12 skips them by default.
 */
export const REBUILD_ADVICE =
  'in your project, `npm approve-scripts tinynf koffi` (npm 11.16 and later ask for it; npm 12 skips the install scripts of unapproved dependencies), then `npm rebuild tinynf koffi`; in a tinynf checkout, `npm install`';

/** Where the addon is looked for, first match wins (compiled layout, then running from src via ts-node). */
export function addonCandidates(): string[] {
  const rel = path.join('src', 'env', 'native', 'build', 'Release', 'tinynf_shm.node');
  return [path.resolve(__dirname, '..', '..', '..', '..', rel), path.resolve(__dirname, '..', '..', '..', rel)];
}

/** What is wrong when no candidate exists (shmAddon's error, tinynf doctor's `addon` check). */
export const ADDON_NOT_BUILT = "the native addon tinynf_shm.node is not built (tinynf's install script did not run, or failed)";

/** The first of `candidates` that exists: the addon that would be loaded, if any. */
export function findAddon(candidates: readonly string[] = addonCandidates()): string | undefined {
  return candidates.find((f) => fs.existsSync(f));
}

export function shmAddon(): ShmAddon {
  if (loaded === undefined) {
    const file = findAddon();
    if (file === undefined) throw new TinyNfError(`${ADDON_NOT_BUILT}: ${REBUILD_ADVICE}`);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loaded = require(file) as ShmAddon;
  }
  return loaded;
}
