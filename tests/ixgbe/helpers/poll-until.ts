// Poll forwarders in real time (the NICs run in a worker thread) until a condition holds.
import type { Forwarder } from '../../../src/ixgbe/forwarder';
import type { PacketHandler } from '../../../src/ixgbe/handler';

/** Poll the forwarders until `done()` holds (checked every 64 rounds) or `timeoutMs` passes; returns done(). */
export function pollUntil(forwarders: (Forwarder | null)[], handlers: (PacketHandler | null)[], done: () => boolean, timeoutMs = 5000): boolean {
  const end = performance.now() + timeoutMs;
  for (let round = 0; ; round++) {
    for (let i = 0; i < forwarders.length; i++) forwarders[i]?.poll(handlers[i]!);
    if ((round & 63) === 0) {
      if (done()) return true;
      if (performance.now() > end) return false;
    }
  }
}
