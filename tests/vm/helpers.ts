// Helpers of the QEMU-lab tests (tests/vm): skip reasons, a cross-process lock so that only one guest boots at a
// time (TCG uses both cores: two guests at once take twice as long each), and private namespace/TAP names.
//
// Other test files that boot guests (e.g. VFIO in a guest) should use describeVm + lockGuest too.
import * as os from 'os';
import * as path from 'path';
import { GuestImage, findCachedImage, vmSkipReason } from '../../src/vm';
import { tryFileLock } from '../helpers/file-lock';
import { netnsSkipReason } from '../wires/helpers/netns';

/** The prepared image (tinynf vm prepare; .ci/run runs it), or null. */
export function cachedImage(): GuestImage | null {
  return findCachedImage();
}

/**
 * `describe` when a guest can boot here (QEMU installed, image prepared, and root + namespaces when `needsRoot`),
 * else `describe.skip` and one line saying why.
 */
export function describeVm(title: string, needsRoot: boolean): jest.Describe {
  let reason = vmSkipReason(cachedImage());
  if (reason === null && needsRoot) reason = netnsSkipReason();
  if (reason !== null) {
    console.warn(`SKIPPED vm ${title}: ${reason}`);
    return describe.skip;
  }
  return describe;
}

const LOCK = path.join(os.tmpdir(), 'tinynf-tests-vm.lock');

/** Wait (up to `waitMs`) until no other test process runs a guest; resolves to the release function. */
export async function lockGuest(waitMs = 800_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const release = tryFileLock(LOCK);
    if (release !== null) return release;
    if (Date.now() > deadline) throw new Error(`another test process has held ${LOCK} for ${waitMs / 1000} s`);
    else await new Promise((r) => setTimeout(r, 200));
  }
}

/** Namespace/TAP names of this test process: tnfvm<tag><side><pid> (interface names <= 15 characters). */
export function vmNames(tag: string, side: string): { netns: string; tap: string } {
  if (!/^[a-z0-9]{1,3}$/.test(tag) || !/^[a-z]$/.test(side)) throw new Error('vmNames: short lower-case tag and one-letter side');
  const id = process.pid % 100000;
  return { netns: `tnfvm${tag}${side}${id}`, tap: `tnfvm${tag}${side}${id}`.slice(0, 15) };
}
