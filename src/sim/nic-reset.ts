// Reset of the simulated 82599 port: power-on, CTRL.RST (Section 4.2.1.6.1) with its 1 ms duration, and the state
// derived from the register file afterwards.
import * as R from './registers';
import { writeResetValues } from './reset';
import { RESET_DURATION_NS } from './nic-constants';
import { hex, registerName } from './nic-watch';
import { resetStatistics } from './nic-statistics';
import type { SimNic } from './nic';

export function powerOnReset(nic: SimNic): void {
  writeResetValues(nic.regs, nic.mac, nic.lanId);
  nic.regs[R.EEC >>> 2] |= R.EEC_AUTO_RD;
  nic.regs[R.RDRXCTL >>> 2] |= R.RDRXCTL_DMAIDONE;
  nic.shadow.set(nic.regs);
  nic.seen.set(nic.regs);
  clearState(nic);
  reloadState(nic);
}

/**
 * Section 4.2.1.6.1 Software Reset: registers to reset values, queues disabled, rings forgotten.
 *
 * The driver may be writing registers while this runs (worker and standalone modes): every word is moved to its
 * reset value with a compare-and-swap from the value just read, so a driver write landing meanwhile is never
 * overwritten; the shadow then holds the reset value, and the scan sees the driver's value as a write (during the
 * reset: a violation; after it: handled as any write).
 */
export function startReset(nic: SimNic, nowNs: number): void {
  if (!nic.masterDisabled) {
    nic.checker.warning(nowNs, 'reset-without-master-disable', 'CTRL.RST', 'CTRL.RST without CTRL.MASTER_DISABLE and STATUS.PCIe Master Enable Status = 0 first');
  }
  // CTRL is looked at every poll, so CTRL.RST was written after the previous poll. Normally that was microseconds
  // ago. If the simulator did not poll for a whole reset duration (a worker or standalone thread descheduled by the
  // OS, never the inline machine), the reset may already be over from the driver's point of view, and a driver
  // that waited as Section 8.2.3.1.1 says has gone on writing registers: those writes, seen now together with
  // CTRL.RST, are taken as made after the reset (INTERPRETATION: the order is unknowable; we favour a driver that
  // waited rather than wiping its configuration), and a warning says the simulator stalled. Without a stall, writes
  // seen together with CTRL.RST are taken as made before it (a driver must not write during the reset), and reset.
  // The gap since the previous poll, measured with the real clock if there is one: the thread may have been
  // descheduled after reading the clock for this poll, and then `nowNs` is older than the registers it sees.
  const gap = (nic.clock !== null ? Math.max(nowNs, nic.clock()) : nowNs) - nic.lastPollNs;
  const stalled = nic.lastPollNs > 0 && gap >= RESET_DURATION_NS;
  const regs = nic.regs;
  const shadow = nic.shadow;
  const seen = nic.seen;
  const watched = nic.watchIndexOf;
  const image = nic.resetImage;
  const wCtrl = R.CTRL >>> 2;
  const wEec = R.EEC >>> 2;
  const wRdrxctl = R.RDRXCTL >>> 2;
  // CTRL.RST reads 1 until the reset completes; EEC.AUTO_RD and RDRXCTL.DMAIDONE read 0 until then (after a stall
  // the reset is already complete).
  image[wCtrl] = stalled ? 0 : R.CTRL_RST;
  image[wEec] = (nic.resetEec | (stalled ? R.EEC_AUTO_RD : 0)) >>> 0;
  image[wRdrxctl] = (nic.resetRdrxctl | (stalled ? R.RDRXCTL_DMAIDONE : 0)) >>> 0;
  let kept = 0;
  for (let w = 0; w < R.BAR0_WORDS; w++) {
    if (w === wCtrl) continue; // last, below: a driver that sees CTRL.RST clear must see the whole reset
    const want = image[w];
    const value = regs[w];
    // (a word the NIC does not watch is compared with `seen`, refreshed a chunk at a time, SimNic.refreshUnwatched:
    // a write older than one refresh round of BAR0 is not mistaken for one made after the reset)
    if (stalled && value !== (watched[w] >= 0 ? shadow[w] : seen[w])) {
      kept++; // the driver's write, made after the reset: left for the scan
    } else if (value !== want) {
      Atomics.compareExchange(regs, w, value | 0, want | 0); // fails only if the driver just wrote: then kept too
    }
    shadow[w] = want;
    seen[w] = want;
  }
  const ctrl = regs[wCtrl];
  if (ctrl !== image[wCtrl]) Atomics.compareExchange(regs, wCtrl, ctrl | 0, image[wCtrl] | 0);
  shadow[wCtrl] = image[wCtrl];
  if (kept > 0) {
    nic.checker.warning(
      nowNs,
      'simulator-stalled',
      'CTRL.RST',
      `no poll for ${(gap / 1000).toFixed(0)} us: CTRL.RST taken as written then, the ${kept} register writes seen with it as made after the reset`,
    );
  }
  clearState(nic);
  reloadState(nic);
  nic.resetting = !stalled;
  nic.resetEndNs = (stalled ? nic.lastPollNs : nowNs) + RESET_DURATION_NS;
}

export function pollDuringReset(nic: SimNic, nowNs: number): boolean {
  // A write seen at the first poll after the reset's end was made since the previous poll, possibly after the end:
  // INTERPRETATION: not a violation (the reset ends and the write is handled as any other). This only matters to
  // a simulator that does not poll for a while (worker/standalone): the inline machine polls as soon as the driver
  // has written.
  if (nowNs >= nic.resetEndNs) {
    finishReset(nic);
    return true;
  }
  // Any register write during the reset is a violation (and has no effect): compare the whole register file.
  const regs = nic.regs;
  const shadow = nic.shadow;
  for (let w = 0; w < R.BAR0_WORDS; w++) {
    if (regs[w] !== shadow[w]) {
      nic.checker.violation(nowNs, 'write-during-reset', registerName(w * 4), `written ${hex(regs[w])} ${((nowNs - (nic.resetEndNs - RESET_DURATION_NS)) / 1000).toFixed(1)} us after CTRL.RST`);
      regs[w] = shadow[w];
    }
  }
  return false;
}

/** The end of a reset: CTRL.RST self-clears; EEPROM auto-read and DMA initialisation are done. */
export function finishReset(nic: SimNic): void {
  nic.resetting = false;
  // Compare-and-swap from the value the NIC holds: a driver write landing meanwhile (possible only after a stall)
  // stays, and the scan handles it, keeping the hardware-owned bits (EEC, RDRXCTL handlers).
  const finish = (w: number, value: number) => {
    Atomics.compareExchange(nic.regs, w, nic.shadow[w] | 0, value | 0);
    nic.shadow[w] = value >>> 0;
  };
  // EEPROM auto-read and DMA initialisation complete at once (U8: the delays are unspecified)
  finish(R.EEC >>> 2, nic.shadow[R.EEC >>> 2] | R.EEC_AUTO_RD);
  finish(R.RDRXCTL >>> 2, nic.shadow[R.RDRXCTL >>> 2] | R.RDRXCTL_DMAIDONE);
  // CTRL.RST clears last: whoever sees it clear sees the rest of the reset done
  finish(R.CTRL >>> 2, 0);
}

export function clearState(nic: SimNic): void {
  resetStatistics(nic);
  for (const q of nic.rxQueues) {
    q.disable();
    q.head = 0;
    q.tail = 0;
  }
  for (const q of nic.txQueues) {
    q.disable();
    q.head = 0;
    q.tail = 0;
    q.headWriteBack = false;
  }
  nic.rxEnableRequested.fill(0);
  nic.txEnableRequested.fill(0);
  nic.activeTx = [];
  nic.heldLength = 0;
  // the packet buffer is emptied with the rest (Section 4.2.1.6.1: the reset flushes the device's queues)
  nic.rxBacklog = false;
  nic.txGathered = 0;
  nic.eims = 0;
}

/** Derive the global state from the register file (after a reset or when adopting an existing one). */
export function reloadState(nic: SimNic): void {
  // from the shadow: what the NIC has seen (a driver write not yet scanned is handled as a write when it is)
  const r = (offset: number) => nic.shadow[offset >>> 2];
  nic.masterDisabled = (r(R.CTRL) & R.CTRL_MASTER_DISABLE) !== 0;
  nic.rxEnable = (r(R.RXCTRL) & R.RXCTRL_RXEN) !== 0;
  nic.secRxDisabled = (r(R.SECRXCTRL) & R.SECRXCTRL_RX_DIS) !== 0;
  nic.transmitEnable = (r(R.DMATXCTL) & R.DMATXCTL_TE) !== 0;
  nic.applyHlreg0(r(R.HLREG0));
  nic.crcStripDma = (r(R.RDRXCTL) & R.RDRXCTL_CRCSTRIP) !== 0;
  nic.applyFctrl(r(R.FCTRL));
  nic.reloadReceiveAddresses();
  for (const q of nic.rxQueues) nic.applySrrctl(q, r(q.base + R.SRRCTL_OFF));
}
