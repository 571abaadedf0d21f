// The run loop of programs (tinynf run, examples/policer.ts, benchmarks): TinyNF's tn_net_run with a deadline,
// live progress and a summary. Packets are counted by the forwarders; the NF counts why it dropped what it dropped.
import type { Forwarder } from '../ixgbe/forwarder';
import type { PacketHandler } from '../ixgbe/handler';
import type { CoarseClock } from '../nf/lib/coarse-clock';
import type { NetworkFunction } from '../nf/network-function';
import type { NicCounters } from '../ixgbe/statistics';

export interface Totals {
  rxPackets: number;
  txPackets: number;
  droppedPackets: number;
  /** Packets whose handler threw or returned a bad length (dropped; also in droppedPackets). */
  handlerErrors: number;
}

export interface Progress extends Totals {
  /** Seconds since the loop started. */
  seconds: number;
  /** Rates over the last interval, in millions of packets per second. */
  rxMpps: number;
  txMpps: number;
  droppedMpps: number;
  nf: Record<string, number>;
  /** Each port's NIC statistics totals (filled in by runNf, which reads the registers at each progress). */
  nic?: NicCounters[];
}

export interface RunSummary extends Totals {
  seconds: number;
  /** Transmitted packets per second over the whole run, in millions. */
  mpps: number;
  /** Time spent in rounds of polls that found packets, per received packet (driver + NF cost), in ns. */
  nsPerPacket: number;
  nf: Record<string, number>;
}

export interface RunLoopOptions {
  /** Stop after this many seconds (of `nowNs` time). */
  durationS: number;
  /** Monotonic clock in ns (real time: performance.now based by default). */
  nowNs?: () => number;
  /** Called every `progressEveryS` seconds (default 1). */
  onProgress?: (p: Progress) => void;
  progressEveryS?: number;
  /** Called after every round of polls (an inline simulated NIC runs here). */
  afterRound?: () => void;
  /** A coarse clock handed to the NF: set from `nowNs` at every round. */
  clock?: CoarseClock;
  /** Stop early when this returns true (checked with the clock, not every round). */
  stop?: () => boolean;
}

const realNowNs = (): number => performance.now() * 1e6;
/** How often (ns) the loop asks `stop()`. */
const STOP_CHECK_NS = 1e6;

export function totals(forwarders: readonly (Forwarder | null)[]): Totals {
  const t: Totals = { rxPackets: 0, txPackets: 0, droppedPackets: 0, handlerErrors: 0 };
  for (const f of forwarders) {
    if (f === null) continue;
    t.rxPackets += f.stats.rxPackets;
    t.droppedPackets += f.stats.droppedPackets;
    t.handlerErrors += f.stats.handlerErrors;
    for (const n of f.stats.txPackets) t.txPackets += n;
  }
  return t;
}

/** Poll every forwarder with its handler until the deadline. */
export function runLoop(
  nf: NetworkFunction,
  forwardersOrNull: readonly (Forwarder | null)[],
  handlersOrNull: readonly (PacketHandler | null)[],
  options: RunLoopOptions,
): RunSummary {
  const forwarders: Forwarder[] = [];
  const handlers: PacketHandler[] = [];
  forwardersOrNull.forEach((f, i) => {
    if (f !== null && handlersOrNull[i] !== null) {
      forwarders.push(f);
      handlers.push(handlersOrNull[i]!);
    }
  });
  const now = options.nowNs ?? realNowNs;
  const every = (options.progressEveryS ?? 1) * 1e9;
  const afterRound = options.afterRound;
  const coarse = options.clock;
  const stop = options.stop;
  const count = forwarders.length;
  const start = now();
  const end = start + options.durationS * 1e9;
  let nextProgress = start + every;
  let nextStopCheck = start + STOP_CHECK_NS;
  let last = totals(forwarders);
  let lastTime = start;
  let busyNs = 0;
  // One clock read per round (a read costs ~70 ns here, more than a no-op packet): `t` is the read that ended the
  // previous round, so a round that found packets is charged from there to the read that ends it. With an inline
  // simulated NIC, the time it takes after a round is excluded by one more read.
  let t = start;
  for (;;) {
    if (coarse !== undefined) coarse.set(t);
    let processed = 0;
    for (let i = 0; i < count; i++) processed += forwarders[i].poll(handlers[i]);
    const after = now();
    if (processed !== 0) busyNs += after - t;
    t = after;
    if (afterRound !== undefined) {
      afterRound();
      t = now();
    }
    if (t >= end) break;
    if (t >= nextStopCheck) {
      nextStopCheck = t + STOP_CHECK_NS;
      if (stop !== undefined && stop()) break;
    }
    if (t >= nextProgress && options.onProgress !== undefined) {
      const cur = totals(forwarders);
      const dt = (t - lastTime) / 1e3; // ns -> Mpps factor: packets / (dt ns) * 1e3
      options.onProgress({
        ...cur,
        seconds: (t - start) / 1e9,
        rxMpps: (cur.rxPackets - last.rxPackets) / dt,
        txMpps: (cur.txPackets - last.txPackets) / dt,
        droppedMpps: (cur.droppedPackets - last.droppedPackets) / dt,
        nf: nf.counters(),
      });
      last = cur;
      lastTime = t;
      nextProgress = t + every;
    }
  }
  const seconds = (now() - start) / 1e9;
  const sums = totals(forwarders);
  return {
    ...sums,
    seconds,
    mpps: seconds > 0 ? sums.txPackets / seconds / 1e6 : 0,
    nsPerPacket: sums.rxPackets > 0 ? busyNs / sums.rxPackets : 0,
    nf: nf.counters(),
  };
}

/** "12.34" with a fixed width, for progress lines. */
export function fmtMpps(v: number): string {
  return v.toFixed(2).padStart(6);
}
