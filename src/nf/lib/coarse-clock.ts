// A clock NFs can read per packet for the price of a field read: the run loop refreshes it from the real clock
// once per round of polls (as DPDK applications read the TSC once per burst). The TinyNF/Vigor evaluation found
// that per-packet clock reads were a bottleneck; this keeps them off the packet path without letting time go stale
// at low packet rates.
import type { Clock } from '../../ixgbe/handler';

export class CoarseClock implements Clock {
  private now: number;

  constructor(private readonly source: Clock) {
    this.now = source.nowNs();
  }

  nowNs(): number {
    return this.now;
  }

  /** Set the time directly (a run loop that has just read the same clock). */
  set(ns: number): void {
    this.now = ns;
  }

  /** Read the source clock once (call once per round of polls). */
  refresh(): void {
    this.now = this.source.nowNs();
  }
}
