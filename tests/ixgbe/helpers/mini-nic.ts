// A very small stand-in for the NIC's data path on top of FakePlatform (one device): receive queue 0 (legacy or
// advanced descriptors) and every enabled transmit queue, head write-back or DD write-back. Used to test the
// driver's ring logic independently of src/sim; the same behaviours are tested against src/sim elsewhere.
import * as R from '../../../src/ixgbe/registers';
import { FakePlatform } from './fake-platform';

export class MiniNic {
  readonly pending: Uint8Array[] = [];
  readonly sent: Uint8Array[][] = [];
  missed = 0;
  nullDescriptors = 0;
  /** Max descriptors each TX queue processes per step (Infinity = keeps up with anything). */
  txPerStep = Infinity;
  private readonly dma: Uint8Array;
  private readonly words: Uint32Array;

  constructor(private readonly platform: FakePlatform) {
    this.dma = new Uint8Array(platform.dma);
    this.words = new Uint32Array(platform.dma);
    platform.onAdvance = () => this.step();
  }

  private addr(lowReg: number, highReg: number): number {
    return this.platform.physToOffset(this.platform.reg(highReg) * 2 ** 32 + this.platform.reg(lowReg));
  }

  step(): void {
    const p = this.platform;
    if ((p.reg(R.RXCTRL) & R.RXCTRL_RXEN) !== 0 && (p.reg(R.RXDCTL(0)) & R.RXDCTL_ENABLE) !== 0) {
      const size = p.reg(R.RDLEN(0)) / 16;
      const ring = this.addr(R.RDBAL(0), R.RDBAH(0));
      const advanced = (p.reg(R.SRRCTL(0)) & R.SRRCTL_DESCTYPE) !== 0;
      while (this.pending.length > 0) {
        const frame = this.pending.shift()!;
        const head = p.reg(R.RDH(0));
        if (head === p.reg(R.RDT(0))) {
          this.missed++;
          continue;
        }
        const w = (ring + head * 16) / 4;
        const buffer = p.physToOffset(this.words[w + 1] * 2 ** 32 + this.words[w]);
        this.dma.set(frame, buffer);
        if (advanced) {
          this.words[w] = 0;
          this.words[w + 1] = 0;
          this.words[w + 2] = R.ADVANCED_RX_W2_STATUS_DD | R.ADVANCED_RX_W2_STATUS_EOP;
          this.words[w + 3] = frame.length;
        } else {
          this.words[w + 2] = frame.length;
          this.words[w + 3] = R.LEGACY_RX_W3_STATUS_DD | R.LEGACY_RX_W3_STATUS_EOP;
        }
        p.setReg(R.RDH(0), (head + 1) % size);
      }
    }
    for (let q = 0; q < 8; q++) {
      if ((p.reg(R.TXDCTL(q)) & R.TXDCTL_ENABLE) === 0) continue;
      const size = p.reg(R.TDLEN(q)) / 16;
      const ring = this.addr(R.TDBAL(q), R.TDBAH(q));
      const headWb = p.reg(R.TDWBAL(q)) & 1;
      let head = p.reg(R.TDH(q));
      let budget = this.txPerStep;
      while (head !== p.reg(R.TDT(q)) && budget-- > 0) {
        const w = (ring + head * 16) / 4;
        const length = this.words[w + 2] & 0xffff;
        const buffer = p.physToOffset(this.words[w + 1] * 2 ** 32 + this.words[w]);
        (this.sent[q] ??= []);
        if (length > 0) this.sent[q].push(this.dma.slice(buffer, buffer + length));
        else this.nullDescriptors++;
        head = (head + 1) % size;
        if ((this.words[w + 2] & R.LEGACY_TX_W2_CMD_RS) !== 0) {
          if (headWb) {
            const at = p.physToOffset(p.reg(R.TDWBAH(q)) * 2 ** 32 + (p.reg(R.TDWBAL(q)) & ~3));
            this.words[at / 4] = head;
          } else {
            this.words[w + 3] |= 1;
          }
        }
      }
      p.setReg(R.TDH(q), head);
    }
  }
}
