// Driving the simulated 82599 by hand (no driver): register access, queue setup in the data sheet's order, frames.
import type { DmaMemory } from '../../src/env/environment';
import { SimMachine, SimMachineOptions } from '../../src/sim/machine';
import * as C from '../../src/sim/pci-config';
import * as R from '../../src/sim/registers';
import { CollectingOutput, QueueInput } from '../../src/sim/wire';

export { R };

export const RXB = R.rxQueueBase;
export const TXB = R.txQueueBase;

/** One port of a machine, driven by hand. */
export class Hand {
  readonly regs: Uint32Array;
  readonly input = new QueueInput();
  readonly output = new CollectingOutput();

  constructor(
    readonly machine: SimMachine,
    readonly port = 0,
  ) {
    this.regs = new Uint32Array(machine.nic(port).bar0);
    machine.nic(port).attachInput(this.input);
    machine.nic(port).attachOutput(this.output);
  }

  get nic() {
    return this.machine.nic(this.port);
  }
  get address(): string {
    return this.machine.addresses[this.port];
  }
  read(offset: number): number {
    return this.regs[offset >>> 2] >>> 0;
  }
  write(offset: number, value: number): void {
    this.regs[offset >>> 2] = value >>> 0;
  }
  set(offset: number, bits: number): void {
    this.write(offset, this.read(offset) | bits);
  }
  clear(offset: number, bits: number): void {
    this.write(offset, this.read(offset) & ~bits);
  }
  /** One full poll of the machine's NICs. */
  poll(): void {
    this.machine.step();
  }
  busMaster(on = true): void {
    const cmd = this.machine.configRead32(this.address, C.CFG_COMMAND) & 0xffff;
    this.machine.configWrite32(this.address, C.CFG_COMMAND, on ? cmd | C.COMMAND_BUS_MASTER_ENABLE : cmd & ~C.COMMAND_BUS_MASTER_ENABLE);
  }
  rules(): string[] {
    return this.nic.violations.map((v) => v.rule);
  }
}

export function machine(options: SimMachineOptions = {}): SimMachine {
  return new SimMachine({ ports: 2, dmaBytes: 4 * 1024 * 1024, ...options });
}

export interface Ring {
  mem: DmaMemory;
  /** The ring as 32-bit words (4 per descriptor). */
  words: Uint32Array;
  size: number;
  buffers: DmaMemory;
  bufferBytes: number;
  /** Physical address of buffer i. */
  bufPhys(i: number): number;
  /** Bytes of buffer i. */
  buf(i: number): Uint8Array;
}

export function allocRing(m: SimMachine, size: number, bufferBytes = 2048, shareBuffersWith?: Ring): Ring {
  const mem = m.allocateDma(size * 16);
  const buffers = shareBuffersWith?.buffers ?? m.allocateDma(size * bufferBytes);
  const words = new Uint32Array(mem.buffer, mem.byteOffset, size * 4);
  const ring: Ring = {
    mem,
    words,
    size,
    buffers,
    bufferBytes,
    bufPhys: (i) => buffers.phys + i * bufferBytes,
    buf: (i) => new Uint8Array(buffers.buffer, buffers.byteOffset + i * bufferBytes, bufferBytes),
  };
  for (let i = 0; i < size; i++) setQ0(ring, i, ring.bufPhys(i));
  return ring;
}

export function setQ0(ring: Ring, i: number, phys: number): void {
  ring.words[i * 4] = phys >>> 0;
  ring.words[i * 4 + 1] = Math.floor(phys / 2 ** 32);
}

export interface RxOptions {
  size?: number;
  advanced?: boolean;
  dropEnable?: boolean;
  bufferKb?: number;
  /** Leave RDT at 0 (no descriptors given). */
  noTail?: boolean;
  promiscuous?: boolean;
  /** RDRXCTL.CRCStrip (default true; HLREG0.RXCRCSTRP must match, it resets to 1). */
  crcStrip?: boolean;
  ring?: Ring;
}

/** Section 4.6.7 receive initialisation of queue 0, then RXEN (SECRX dance included). */
export function setupRx(h: Hand, o: RxOptions = {}): Ring {
  const size = o.size ?? 8;
  const bufferKb = o.bufferKb ?? 2;
  const ring = o.ring ?? allocRing(h.machine, size, bufferKb * 1024);
  h.busMaster();
  if (o.promiscuous ?? true) h.set(R.FCTRL, R.FCTRL_UPE | R.FCTRL_MPE);
  h.write(RXB(0) + R.RDBAH_OFF, Math.floor(ring.mem.phys / 2 ** 32));
  h.write(RXB(0) + R.RDBAL_OFF, ring.mem.phys >>> 0);
  h.write(RXB(0) + R.RDLEN_OFF, ring.size * 16);
  let srrctl = (h.read(RXB(0) + R.SRRCTL_OFF) & ~(R.SRRCTL_BSIZEPACKET_MASK | R.SRRCTL_DESCTYPE_MASK)) | bufferKb;
  if (o.advanced) srrctl |= R.SRRCTL_DESCTYPE_ADVANCED_ONE_BUFFER << R.SRRCTL_DESCTYPE_SHIFT;
  if (o.dropEnable ?? true) srrctl |= R.SRRCTL_DROP_EN;
  else srrctl &= ~R.SRRCTL_DROP_EN;
  h.write(RXB(0) + R.SRRCTL_OFF, srrctl);
  h.set(RXB(0) + R.RXDCTL_OFF, R.XDCTL_ENABLE);
  h.poll();
  if (!o.noTail) h.write(RXB(0) + R.RDT_OFF, ring.size - 1);
  h.write(R.FCRTH(0), 0x7a000);
  h.write(R.RDRXCTL, (h.read(R.RDRXCTL) & ~R.RDRXCTL_RSCFRSTSIZE_MASK & ~R.RDRXCTL_CRCSTRIP) | ((o.crcStrip ?? true) ? R.RDRXCTL_CRCSTRIP : 0));
  h.set(R.SECRXCTRL, R.SECRXCTRL_RX_DIS);
  h.poll();
  h.set(R.RXCTRL, R.RXCTRL_RXEN);
  h.clear(R.SECRXCTRL, R.SECRXCTRL_RX_DIS);
  h.clear(RXB(0) + R.DCA_RXCTRL_OFF, R.DCA_RXCTRL_BIT12);
  h.poll();
  return ring;
}

export interface TxOptions {
  size?: number;
  /** Head write-back word (physical address) or null for DD write-back. */
  headPhys?: number | null;
  queue?: number;
  ring?: Ring;
}

/** Section 4.6.8 transmit initialisation of a queue (TE first, then ENABLE, then poll). */
export function setupTx(h: Hand, o: TxOptions = {}): Ring {
  const q = o.queue ?? 0;
  const ring = o.ring ?? allocRing(h.machine, o.size ?? 8);
  h.busMaster();
  h.write(TXB(q) + R.TDBAH_OFF, Math.floor(ring.mem.phys / 2 ** 32));
  h.write(TXB(q) + R.TDBAL_OFF, ring.mem.phys >>> 0);
  h.write(TXB(q) + R.TDLEN_OFF, ring.size * 16);
  if (o.headPhys !== undefined && o.headPhys !== null) {
    h.write(TXB(q) + R.TDWBAH_OFF, Math.floor(o.headPhys / 2 ** 32));
    h.write(TXB(q) + R.TDWBAL_OFF, (o.headPhys >>> 0) | R.TDWBAL_HEAD_WB_EN);
  }
  h.set(R.DMATXCTL, R.DMATXCTL_TE);
  h.set(TXB(q) + R.TXDCTL_OFF, R.XDCTL_ENABLE);
  h.poll();
  return ring;
}

/** Legacy transmit descriptor Q1 (Section 7.2.3.2.2): length | EOP | IFCS (| RS). */
export function legacyTx(ring: Ring, i: number, length: number, rs = false, eop = true): void {
  ring.words[i * 4 + 2] = (length | (eop ? R.TX_CMD_EOP : 0) | R.TX_CMD_IFCS | (rs ? R.TX_CMD_RS : 0)) >>> 0;
  ring.words[i * 4 + 3] = 0;
}

/** A frame of `length` bytes to `dst` (6 bytes; default the unicast 02:00:00:00:00:99) with a recognisable payload. */
export function frame(length: number, seed = 1, dst: number[] = [0x02, 0, 0, 0, 0, 0x99]): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set([0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 6);
  for (let i = 14; i < length; i++) f[i] = (seed * 7 + i) & 0xff;
  return f;
}

/** The machine's MAC of port i (as SimMachine's default). */
export function macOf(h: Hand): number[] {
  const low = h.read(R.RAL(0));
  const high = h.read(R.RAH(0));
  return [low & 0xff, (low >>> 8) & 0xff, (low >>> 16) & 0xff, low >>> 24, high & 0xff, (high >>> 8) & 0xff];
}

/** Words of the descriptor i as an array (for byte-by-byte comparisons). */
export function desc(ring: Ring, i: number): number[] {
  return Array.from(ring.words.subarray(i * 4, i * 4 + 4));
}

/** Reference CRC-32 (bitwise, independent of src/sim/crc32.ts's table). */
export function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
