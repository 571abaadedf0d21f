// Tests that use the machine's real huge page pool (reserve pages, allocate them all, restore the pool size) must not
// overlap: jest runs test files in parallel workers, and the pool is global. This is a cross-process lock: a file
// created with O_EXCL holding the owner's pid; a lock left by a dead process is taken over.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const LOCK = path.join(os.tmpdir(), 'tinynf-tests-hugepages.lock');
const WAIT_MS = 120_000;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function ownerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(LOCK, 'utf8').trim());
  } catch {
    return true; // being created or removed right now: look again later
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Wait until no other test process uses the huge page pool; returns the function that releases it. */
export function lockHugePages(): () => void {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const fd = fs.openSync(LOCK, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(LOCK, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!ownerAlive()) fs.rmSync(LOCK, { force: true });
    else if (Date.now() > deadline) throw new Error(`another test process has held ${LOCK} for ${WAIT_MS / 1000} s`);
    else sleepMs(50);
  }
}
