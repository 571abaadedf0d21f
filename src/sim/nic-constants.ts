// Constants and shared types of the simulated 82599 port (src/sim/nic*.ts).
import { MAX_WIRE_FRAME } from './wire';
import type { WireInput } from './wire';

/** Section 8.2.3.1.1: "wait approximately 1 ms after setting [CTRL.RST] before [...] access [to] any other register". */
export const RESET_DURATION_NS = 1_000_000;
/** Largest frame the NIC handles (staging buffers); Section 8.2.3.8.7 allows 16 KB receive buffers. */
export const MAX_FRAME_BYTES = MAX_WIRE_FRAME;
/** Staging bytes per direction (frame + FCS + slack). */
export const STAGING_BYTES = MAX_FRAME_BYTES + 64;
/** Ethernet minimum frame without FCS (64 with it), IEEE 802.3 / Section 8.2.3.22.8 HLREG0.TXPADEN. */
export const MIN_FRAME_BYTES = 60;
export const FCS_BYTES = 4;
/** Preamble + SFD (8) + inter-frame gap (12): 20 bytes of wire time per frame besides the frame itself. */
export const WIRE_OVERHEAD_BYTES = 20;

/** Wire time of one byte at 10 Gb/s (ns). */
export const NS_PER_WIRE_BYTE = 0.8;

/** Wire time (ns at 10 Gb/s, 0.8 ns a byte) of a frame of `length` bytes without FCS: padded, FCS, overhead. */
export function frameWireNs(length: number): number {
  return ((length < MIN_FRAME_BYTES ? MIN_FRAME_BYTES : length) + FCS_BYTES + WIRE_OVERHEAD_BYTES) * NS_PER_WIRE_BYTE;
}
/**
 * Frames received per poll at most, so a simulator that falls behind its input (a worker thread under a line-rate
 * generator) still interleaves transmission and register scans with reception.
 */
export const RX_BURST = 64;

export interface NicStats {
  rxPackets: number;
  rxBytes: number;
  /** Frames not delivered: no free descriptor (DROP_EN), receive disabled, or filtered out. */
  rxMissed: number;
  /** Of rxMissed: frames the L2 filter rejected. */
  rxFiltered: number;
  /** Of rxMissed: dropped for lack of a descriptor with SRRCTL.DROP_EN (QPRDC). */
  rxNoDescriptor: number;
  /** Of rxMissed: undersize frames (runts, < 64 bytes with FCS) dropped by the MAC (RUC). */
  rxUndersize: number;
  /** Of rxMissed: frames over the maximum size (MAXFRS.MFS with HLREG0.JUMBOEN, else 1518 bytes) dropped (ROC). */
  rxOversize: number;
  txPackets: number;
  txBytes: number;
  txNullDescriptors: number;
  /** Descriptors whose buffer could not be accessed (see the buffer-address-invalid rule). */
  dmaErrors: number;
}

export type TxPacing = number | 'line-rate' | 'unlimited';

/**
 * An input that can also hand over its next frame's length without writing the frame (TrafficGenerator): when the
 * NIC would drop the frame anyway (receive disabled, or no free descriptor with DROP_EN in promiscuous mode) it
 * skips it, so a saturated receive ring costs no copies.
 */
export interface SkippableInput extends WireInput {
  skip(nowNs: number): number;
}

export const PACE_UNLIMITED = 0;
export const PACE_NS_PER_FRAME = 1;
export const PACE_LINE_RATE = 2;
