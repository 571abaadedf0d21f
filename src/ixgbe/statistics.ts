// The 82599's statistics registers (Section 8.2.3.23), read by the driver and accumulated: every one of them is
// clear-on-read ("RC"), so each read returns the count since the previous read and the totals are the sum of reads.
// Reads go through Environment.readStatistic32 (plain 32-bit loads on hardware; a simulated device, which cannot see
// loads, clears the register there). Offsets: Section 8.2.3.23 (checked against IXGBE_* in Linux's ixgbe_type.h).
import type { DeviceMemory } from '../env/device-memory';
import type { Environment, PciAddress } from '../env/environment';

// Section 8.2.3.23.1 CRC Error Count
export const CRCERRS = 0x04000;
// Section 8.2.3.23.4 Missed Packets Count, one per packet buffer (8): frames dropped because the receive packet
// buffer was full (e.g. no descriptors and SRRCTL.DROP_EN clear, so frames wait in the buffer until it overflows)
export const MPC = (n: number): number => 0x03fa0 + 4 * n;
export const MPC_COUNT = 8;
// Section 8.2.3.23.11 Receive Length Error Count
export const RLEC = 0x04040;
// Section 8.2.3.23.18 Good Packets Received Count / .20 Good Packets Transmitted Count
export const GPRC = 0x04074;
export const GPTC = 0x04080;
// Section 8.2.3.23.22-25 Good Octets Received/Transmitted Count, 36-bit: low 32 bits, then bits 35:32
// INTERPRETATION-MISSING: the data sheet describes each half as clear-on-read but not how the pair is latched; we read
// the low half first and the high half next, as Linux's ixgbe_update_stats does (gorc += GORCL; gorc += GORCH << 32).
export const GORCL = 0x04088;
export const GORCH = 0x0408c;
export const GOTCL = 0x04090;
export const GOTCH = 0x04094;
// Section 8.2.3.23.28 Receive Undersize Count / .30 Receive Oversize Count
export const RUC = 0x040a4;
export const ROC = 0x040ac;
// Section 8.2.3.23.x Queue Packets Received Drop Count (16 of them, 0x01430 + 0x40 n): frames dropped for lack of a
// receive descriptor when SRRCTL.DROP_EN is set (the 82599's "no buffer" drop; RNBC is the 82598's)
export const QPRDC = (n: number): number => 0x01430 + 0x40 * n;
export const QPRDC_COUNT = 16;

/** Totals since the statistics were first read (or the device reset). */
export interface NicCounters {
  rxGoodPackets: number;
  txGoodPackets: number;
  rxGoodOctets: number;
  txGoodOctets: number;
  /** MPC, all packet buffers. */
  rxMissed: number;
  /** QPRDC, all queues: no receive descriptor (with DROP_EN). */
  rxNoBufferDrops: number;
  rxCrcErrors: number;
  rxLengthErrors: number;
  rxUndersize: number;
  rxOversize: number;
}

export const NIC_COUNTER_NAMES: readonly (keyof NicCounters)[] = [
  'rxGoodPackets',
  'txGoodPackets',
  'rxGoodOctets',
  'txGoodOctets',
  'rxMissed',
  'rxNoBufferDrops',
  'rxCrcErrors',
  'rxLengthErrors',
  'rxUndersize',
  'rxOversize',
];

export function zeroCounters(): NicCounters {
  return { rxGoodPackets: 0, txGoodPackets: 0, rxGoodOctets: 0, txGoodOctets: 0, rxMissed: 0, rxNoBufferDrops: 0, rxCrcErrors: 0, rxLengthErrors: 0, rxUndersize: 0, rxOversize: 0 };
}

/** snake_case names for JSON and metrics (rxGoodPackets -> rx_good_packets). */
export function snakeCounters(c: NicCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of NIC_COUNTER_NAMES) out[k.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase())] = c[k];
  return out;
}

/** One port's statistics: update() reads every register once and adds what it read to the totals. */
export class NicStatistics {
  readonly totals: NicCounters = zeroCounters();

  constructor(
    readonly env: Environment,
    readonly address: PciAddress,
    readonly bar0: DeviceMemory,
  ) {}

  private read(offset: number): number {
    return this.env.readStatistic32(this.address, this.bar0, offset) >>> 0;
  }

  /** Read every counter (clearing it) and accumulate. Not for the packet loop: a few dozen register reads. */
  update(): NicCounters {
    const t = this.totals;
    t.rxGoodPackets += this.read(GPRC);
    t.txGoodPackets += this.read(GPTC);
    const rxLow = this.read(GORCL);
    t.rxGoodOctets += rxLow + (this.read(GORCH) & 0xf) * 4294967296;
    const txLow = this.read(GOTCL);
    t.txGoodOctets += txLow + (this.read(GOTCH) & 0xf) * 4294967296;
    for (let n = 0; n < MPC_COUNT; n++) t.rxMissed += this.read(MPC(n));
    for (let n = 0; n < QPRDC_COUNT; n++) t.rxNoBufferDrops += this.read(QPRDC(n));
    t.rxCrcErrors += this.read(CRCERRS);
    t.rxLengthErrors += this.read(RLEC);
    t.rxUndersize += this.read(RUC);
    t.rxOversize += this.read(ROC);
    return t;
  }
}
