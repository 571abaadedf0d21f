// Statistics registers of the simulated 82599 port (Section 8.2.3.23): what a driver reads, as opposed to NicStats
// (nic-constants.ts), the simulator's own totals since the port was created, which tests and reports use.
//
// Section 8.2.3.23: the statistics counters are read-to-clear ("RC"), and CTRL.RST resets them (Section 4.2.1.6.1:
// a software reset resets every register but the few it lists, which statistics are not among).
//  - Good-packet counters (GPRC, GPTC, GORCL/H, GOTCL/H) are derived from the totals: register = total - base, where
//    base is the total at the last clear (a read, or a reset). updateStatisticsRegisters() mirrors them into the
//    register file now and then, so a driver that reads BAR0 directly sees a recent value.
//  - Drop/error counters (MPC, QPRDC, RUC, ROC, RLEC) are counted in the register file itself.
//  - readStatistic() is the device side of a driver's read: it returns the exact current count and clears it. The
//    simulated environment routes Environment.readStatistic32 here (machine.ts inline; worker.ts via a word protocol
//    to the simulator thread). A foreign driver reading the standalone files with plain loads cannot be seen: for
//    it the registers are never cleared by reads (docs/simulator.md, "Sampling limits").
import { TinyNfError } from '../env/environment';
import * as R from './registers';
import type { SimNic } from './nic';

const TWO_32 = 4294967296;

/** Totals at the last clear of each good-packet counter, and the 36-bit octet counts latched by reading the low half. */
export class StatisticsBase {
  rxPackets = 0;
  txPackets = 0;
  rxBytes = 0;
  txBytes = 0;
  /** Octets counted at the read of GORCL (GORCH returns its high part and clears that much), or -1. */
  rxBytesLatched = -1;
  txBytesLatched = -1;
}

/** Register words counted in the register file (read-to-clear). */
const IN_REGISTER = new Set<number>([R.RUC >>> 2, R.ROC >>> 2, R.RLEC >>> 2]);
for (let n = 0; n < 8; n++) IN_REGISTER.add(R.MPC(n) >>> 2);
for (let n = 0; n < 16; n++) IN_REGISTER.add(R.QPRDC(n) >>> 2);

/** Mirror the good-packet counters into the statistics registers (counts since the last clear). */
export function updateStatisticsRegisters(nic: SimNic): void {
  const s = nic.stats;
  const b = nic.statBase;
  const rxBytes = s.rxBytes - b.rxBytes;
  const txBytes = s.txBytes - b.txBytes;
  nic.hwStore(R.GPRC >>> 2, (s.rxPackets - b.rxPackets) % TWO_32);
  nic.hwStore(R.GPTC >>> 2, (s.txPackets - b.txPackets) % TWO_32);
  nic.hwStore(R.GORCL >>> 2, rxBytes % TWO_32);
  nic.hwStore(R.GORCH >>> 2, Math.floor(rxBytes / TWO_32) & 0xf);
  nic.hwStore(R.GOTCL >>> 2, txBytes % TWO_32);
  nic.hwStore(R.GOTCH >>> 2, Math.floor(txBytes / TWO_32) & 0xf);
}

/** CTRL.RST: every statistics register reads 0 afterwards (the register words are reset with the rest). */
export function resetStatistics(nic: SimNic): void {
  const s = nic.stats;
  const b = nic.statBase;
  b.rxPackets = s.rxPackets;
  b.txPackets = s.txPackets;
  b.rxBytes = s.rxBytes;
  b.txBytes = s.txBytes;
  b.rxBytesLatched = -1;
  b.txBytesLatched = -1;
}

/**
 * A driver's read of the statistics register at byte `offset`: its current value, cleared by the read if it is a
 * read-to-clear counter; any other register is read as it is.
 *
 * INTERPRETATION (Section 8.2.3.23.22-25, GORCL/GORCH, GOTCL/GOTCH): a 36-bit counter read as low then high half;
 * the low half's read latches the count, the high half's read returns the latched high bits and clears what was
 * latched (octets counted between the two reads stay for the next read). A high half read without a low half
 * read first clears the whole current count.
 */
export function readStatistic(nic: SimNic, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset >= R.BAR0_BYTES || offset % 4 !== 0) {
    throw new TinyNfError(`statistics register offset ${offset} invalid: must be a multiple of 4 below ${R.BAR0_BYTES}`);
  }
  const s = nic.stats;
  const b = nic.statBase;
  const w = offset >>> 2;
  switch (offset) {
    case R.GPRC: {
      const v = s.rxPackets - b.rxPackets;
      b.rxPackets = s.rxPackets;
      nic.hwStore(w, 0);
      return v % TWO_32;
    }
    case R.GPTC: {
      const v = s.txPackets - b.txPackets;
      b.txPackets = s.txPackets;
      nic.hwStore(w, 0);
      return v % TWO_32;
    }
    case R.GORCL:
      b.rxBytesLatched = s.rxBytes - b.rxBytes;
      return b.rxBytesLatched % TWO_32;
    case R.GORCH: {
      const v = b.rxBytesLatched >= 0 ? b.rxBytesLatched : s.rxBytes - b.rxBytes;
      b.rxBytes += v;
      b.rxBytesLatched = -1;
      nic.hwStore(R.GORCL >>> 2, 0);
      nic.hwStore(w, 0);
      return Math.floor(v / TWO_32) & 0xf;
    }
    case R.GOTCL:
      b.txBytesLatched = s.txBytes - b.txBytes;
      return b.txBytesLatched % TWO_32;
    case R.GOTCH: {
      const v = b.txBytesLatched >= 0 ? b.txBytesLatched : s.txBytes - b.txBytes;
      b.txBytes += v;
      b.txBytesLatched = -1;
      nic.hwStore(R.GOTCL >>> 2, 0);
      nic.hwStore(w, 0);
      return Math.floor(v / TWO_32) & 0xf;
    }
  }
  const v = nic.regs[w];
  if (IN_REGISTER.has(w) && v !== 0) nic.hwStore(w, 0);
  return v >>> 0;
}

/** Add `n` to a counter kept in the register file (32 bits, wrapping like the derived ones). */
export function countInRegister(nic: SimNic, offset: number, n: number): void {
  const w = offset >>> 2;
  nic.hwStore(w, (nic.regs[w] + n) % TWO_32);
}
