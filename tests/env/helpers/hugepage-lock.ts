// Tests that use the machine's real huge page pool (reserve pages, allocate them all, restore the pool size) must not
// overlap: jest runs test files in parallel workers, and the pool is global (a cross-process file lock).
import * as os from 'os';
import * as path from 'path';
import { tryFileLock } from '../../helpers/file-lock';

const LOCK = path.join(os.tmpdir(), 'tinynf-tests-hugepages.lock');
const WAIT_MS = 120_000;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Wait until no other test process uses the huge page pool; returns the function that releases it. */
export function lockHugePages(): () => void {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const release = tryFileLock(LOCK);
    if (release !== null) return release;
    if (Date.now() > deadline) throw new Error(`another test process has held ${LOCK} for ${WAIT_MS / 1000} s`);
    else sleepMs(50);
  }
}
