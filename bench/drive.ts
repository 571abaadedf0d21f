// The benchmark's driver loop: TinyNF's tn_net_run over the forwarders of one NF, timing only what the driver
// thread spends in polls that found packets ("busy" time, driver + NF).
//
// Clock reads are not free here (performance.now() costs ~70 ns on this machine, twice a no-op packet's budget),
// so the loop reads the clock once per round, and only the rounds that found packets count as busy: a busy round
// runs from the clock read ending the previous round to the one ending it (one read per round, amortised over
// the packets of the round).
//
// Backlog: the simulator in the worker thread delivers packets more slowly than the driver can take them, so a
// driver polling continuously finds one or two packets per poll and the fixed cost of a round (the clock read,
// the idle flush) would be charged to those packets. With `backlogUs` > 0, after a round that found nothing the
// loop waits that long without touching the rings (spinning on the clock), so the next polls find a batch waiting,
// as a saturated driver always does. The wait is far shorter than the time to fill a ring (a 512-descriptor ring
// takes ~100 us at 5 Mpps), so no packet is lost to it and the throughput is unchanged; the missed-packet
// counter of every run shows it. Latency runs use backlogUs = 0.
//
// Preemption: this machine is shared; when the OS deschedules the driver thread during a busy round (a time slice
// is milliseconds, a round at most ~100 us of work), that round's time is not the driver's. Rounds longer than
// PREEMPTED_ROUND_NS are left out of busy time, with their packets, and counted (preemptedRounds). Every loss of the
// CPU (in a round or while waiting) is counted as a stall: a trial that failed while the driver was stalled says
// nothing about the driver (bench/measure.ts retries it).
import type { Forwarder } from '../src/ixgbe/forwarder';
import type { PacketHandler } from '../src/ixgbe/handler';
import type { CoarseClock } from '../src/nf/lib/coarse-clock';
import { Totals, totals } from '../src/app/run-loop';

export interface DriveOptions {
  durationS: number;
  /** The NF's clock: set from the loop's clock read at every round. */
  clock?: CoarseClock;
  /** Inline simulator: runs the NICs after each round (excluded from busy time). */
  afterRound?: () => void;
  backlogUs: number;
}

export interface DriveResult extends Totals {
  seconds: number;
  /** Time in rounds that found packets (but preempted ones), ns. */
  busyNs: number;
  /** Packets handled in those rounds. */
  busyPackets: number;
  busyRounds: number;
  idleRounds: number;
  /** Rounds longer than PREEMPTED_ROUND_NS (left out of busyNs and busyPackets) and their time, ns. */
  preemptedRounds: number;
  preemptedNs: number;
  /**
   * Times the loop lost the CPU: intervals between two of its clock reads longer than STALL_NS outside busy rounds
   * (idle polls, backlog waits) and preempted rounds; their total and the longest, ns. A stall longer than the time
   * a ring takes to fill at the offered rate loses packets that the driver would have kept up with.
   */
  stalls: number;
  stalledNs: number;
  maxStallNs: number;
}

/** An interval between two clock reads of the loop longer than this outside a busy round is a stall. */
export const STALL_NS = 200_000;

/** A round longer than this was preempted: 256 packets (the poll budget) x 2 inputs x 2 us is far less. */
export const PREEMPTED_ROUND_NS = 1e6;

export const nowNs = (): number => performance.now() * 1e6;

/** Poll `forwarders[i]` with `handlers[i]` (null entries skipped) for `durationS` seconds. */
export function drive(
  forwardersOrNull: readonly (Forwarder | null)[],
  handlersOrNull: readonly (PacketHandler | null)[],
  options: DriveOptions,
): DriveResult {
  const forwarders: Forwarder[] = [];
  const handlers: PacketHandler[] = [];
  for (let i = 0; i < forwardersOrNull.length; i++) {
    const f = forwardersOrNull[i];
    const h = handlersOrNull[i];
    if (f !== null && h !== null && h !== undefined) {
      forwarders.push(f);
      handlers.push(h);
    }
  }
  const before = totals(forwarders);
  const clock = options.clock;
  const afterRound = options.afterRound;
  const backlogNs = options.backlogUs * 1000;
  const count = forwarders.length;
  const start = nowNs();
  const end = start + options.durationS * 1e9;
  let t = start;
  let busyNs = 0;
  let busyPackets = 0;
  let busyRounds = 0;
  let idleRounds = 0;
  let preemptedRounds = 0;
  let preemptedNs = 0;
  let stalls = 0;
  let stalledNs = 0;
  let maxStallNs = 0;
  for (;;) {
    if (clock !== undefined) clock.set(t);
    let processed = 0;
    for (let i = 0; i < count; i++) processed += forwarders[i].poll(handlers[i]);
    const after = nowNs();
    const round = after - t;
    if (processed !== 0 && round < PREEMPTED_ROUND_NS) {
      busyNs += round;
      busyPackets += processed;
      busyRounds++;
    } else {
      if (processed !== 0) {
        preemptedRounds++;
        preemptedNs += round;
      } else {
        idleRounds++;
      }
      if (round > STALL_NS) {
        stalls++;
        stalledNs += round;
        if (round > maxStallNs) maxStallNs = round;
      }
    }
    t = after;
    if (processed === 0 && backlogNs > 0) {
      const until = after + backlogNs;
      while (t < until) {
        const now = nowNs();
        const gap = now - t;
        if (gap > STALL_NS) {
          stalls++;
          stalledNs += gap;
          if (gap > maxStallNs) maxStallNs = gap;
        }
        t = now;
      }
    }
    if (afterRound !== undefined) {
      afterRound();
      t = nowNs();
    }
    if (t >= end) break;
  }
  const seconds = (t - start) / 1e9;
  const after = totals(forwarders);
  return {
    seconds,
    busyNs,
    busyPackets,
    busyRounds,
    idleRounds,
    preemptedRounds,
    preemptedNs,
    stalls,
    stalledNs,
    maxStallNs,
    rxPackets: after.rxPackets - before.rxPackets,
    txPackets: after.txPackets - before.txPackets,
    droppedPackets: after.droppedPackets - before.droppedPackets,
    handlerErrors: after.handlerErrors - before.handlerErrors,
  };
}
