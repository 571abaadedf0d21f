// A SimulatedPlatform whose BAR0 is plain memory: nothing happens on its own (no reset, no self-clearing bits), except
// that CTRL.RST reads back 0 once time advances (unless `resetSticks`), since every driver waits for that.
// Tests preset the bits a real NIC would set and check how the driver reacts when a bit never flips.
import type { DmaMemory } from '../../../src/env/environment';
import type { SimulatedPlatform } from '../../../src/env/simulated';
import * as R from '../../../src/ixgbe/registers';

export const FAKE_ADDRESS = '0000:01:00.0';
const DMA_BASE = 0x1_0000_0000;

export class FakePlatform implements SimulatedPlatform {
  readonly config = new Uint32Array(1024);
  readonly bar0Buffer = new SharedArrayBuffer(512 * 1024);
  readonly regs = new Uint32Array(this.bar0Buffer);
  readonly dma = new SharedArrayBuffer(16 * 1024 * 1024);
  timeNs = 0;
  private nextDma = 0;
  /** Called after every time advance (tests use it to play the NIC's part). */
  onAdvance: (() => void) | null = null;
  /** If true, CTRL.RST never self-clears (a device stuck in reset). */
  resetSticks = false;
  /** How many times CTRL.RST was found set when time advanced. */
  resetsSeen = 0;

  constructor() {
    this.config[0] = (0x10fb << 16) | 0x8086;
    this.config[0x10 / 4] = 0xf000_000c; // 64-bit prefetchable memory BAR
    this.config[0x14 / 4] = 0;
    // What a healthy NIC shows after reset: EEPROM read and present, DMA init done, master enabled.
    this.regs[R.EEC >>> 2] = R.EEC_AUTO_RD | R.EEC_EE_PRES;
    this.regs[R.RDRXCTL >>> 2] = R.RDRXCTL_DMAIDONE;
    this.regs[R.SECRXSTAT >>> 2] = R.SECRXSTAT_SECRX_RDY;
  }

  reg(offset: number): number {
    return this.regs[offset >>> 2];
  }
  setReg(offset: number, value: number): void {
    this.regs[offset >>> 2] = value >>> 0;
  }

  allocateDma(bytes: number): DmaMemory {
    const offset = this.nextDma;
    const rounded = Math.ceil(bytes / 4096) * 4096;
    if (offset + rounded > this.dma.byteLength) throw new Error('fake DMA memory exhausted');
    this.nextDma += rounded;
    return { buffer: this.dma, byteOffset: offset, byteLength: rounded, phys: DMA_BASE + offset };
  }
  virtToPhys(_buffer: SharedArrayBuffer, offset: number): number {
    return DMA_BASE + offset;
  }
  physToOffset(phys: number): number {
    return phys - DMA_BASE;
  }
  hasDevice(address: string): boolean {
    return address === FAKE_ADDRESS;
  }
  configRead32(_address: string, offset: number): number {
    return this.config[offset / 4];
  }
  configWrite32(_address: string, offset: number, value: number): void {
    this.config[offset / 4] = value;
  }
  bar0(_address: string): SharedArrayBuffer {
    return this.bar0Buffer;
  }
  advanceUs(us: number): void {
    this.timeNs += us * 1000;
    if ((this.regs[R.CTRL >>> 2] & R.CTRL_RST) !== 0) {
      this.resetsSeen++;
      if (!this.resetSticks) this.regs[R.CTRL >>> 2] &= ~R.CTRL_RST;
    }
    this.onAdvance?.();
  }
  nowNs(): number {
    return this.timeNs;
  }
}
