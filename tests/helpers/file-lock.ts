// A cross-process lock for test files that share something global (the huge page pool, the one QEMU guest the two
// cores can run): a file created with O_EXCL holding the owner's pid; a lock left by a dead process is taken over.
import * as fs from 'fs';

function ownerAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lock, 'utf8').trim());
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

/**
 * One attempt at `lock`: the release function if taken, else null (another live process holds it; a stale lock
 * is removed, so the next attempt can take it).
 */
export function tryFileLock(lock: string): (() => void) | null {
  try {
    const fd = fs.openSync(lock, 'wx');
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
    return () => fs.rmSync(lock, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (!ownerAlive(lock)) fs.rmSync(lock, { force: true });
  return null;
}
