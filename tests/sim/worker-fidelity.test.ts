// Worker mode, issue 15: no silent tail laps with a driver that writes tails the way TinyNF's C driver does
// (256-descriptor rings, the receive ring's buffers shared with the transmit ring, TDT every 8 frames or when idle,
// RS every 64 descriptors with a head write-back, RDT moved to the earliest transmit head), at the highest rate;
// statistics read through the environment are cleared by the read in the simulator thread.
import { SimulatedEnvironment } from '../../src/env/simulated';
import * as C from '../../src/sim/pci-config';
import * as R from '../../src/sim/registers';
import { SimWorker } from '../../src/sim/worker';

const SIZE = 256;
const FLUSH_PERIOD = 8;
const RS_PERIOD = 64;

/** A TinyNF-style forwarder from port `from`'s receive queue 0 to port `to`'s transmit queue 0, set up by hand. */
class TinyNfPattern {
  readonly rx: Uint32Array;
  readonly tx: Uint32Array;
  readonly head: Uint32Array;
  private readonly inRegs: Uint32Array;
  private readonly outRegs: Uint32Array;
  private processed = 0;
  private unflushed = 0;

  constructor(
    readonly sim: SimWorker,
    from: number,
    to: number,
  ) {
    const rxMem = sim.allocateDma(SIZE * 16);
    const txMem = sim.allocateDma(SIZE * 16);
    const headMem = sim.allocateDma(64);
    const buffers = sim.allocateDma(SIZE * 2048);
    this.rx = new Uint32Array(rxMem.buffer, rxMem.byteOffset, SIZE * 4);
    this.tx = new Uint32Array(txMem.buffer, txMem.byteOffset, SIZE * 4);
    this.head = new Uint32Array(headMem.buffer, headMem.byteOffset, 1);
    for (let i = 0; i < SIZE; i++) {
      const phys = buffers.phys + i * 2048;
      for (const ring of [this.rx, this.tx]) {
        ring[i * 4] = phys >>> 0;
        ring[i * 4 + 1] = Math.floor(phys / 2 ** 32);
      }
    }
    this.inRegs = new Uint32Array(sim.bar0(sim.addresses[from]));
    this.outRegs = new Uint32Array(sim.bar0(sim.addresses[to]));
    for (const a of [sim.addresses[from], sim.addresses[to]]) {
      sim.configWrite32(a, C.CFG_COMMAND, sim.configRead32(a, C.CFG_COMMAND) | C.COMMAND_BUS_MASTER_ENABLE | C.COMMAND_MEMORY_ACCESS_ENABLE);
    }
    // transmit queue 0 of `to` (Section 4.6.8)
    const o = this.outRegs;
    const tb = R.txQueueBase(0) >>> 2;
    o[tb + (R.TDBAH_OFF >>> 2)] = Math.floor(txMem.phys / 2 ** 32);
    o[tb + (R.TDBAL_OFF >>> 2)] = txMem.phys >>> 0;
    o[tb + (R.TDLEN_OFF >>> 2)] = SIZE * 16;
    o[tb + (R.TDWBAH_OFF >>> 2)] = Math.floor(headMem.phys / 2 ** 32);
    o[tb + (R.TDWBAL_OFF >>> 2)] = (headMem.phys >>> 0) | R.TDWBAL_HEAD_WB_EN;
    o[R.DMATXCTL >>> 2] |= R.DMATXCTL_TE;
    sim.sync(); // a barrier: the worker has seen every write so far
    o[tb + (R.TXDCTL_OFF >>> 2)] |= R.XDCTL_ENABLE;
    sim.sync(); // a barrier: the worker has seen every write so far
    // receive queue 0 of `from` (Section 4.6.7), promiscuous, no DROP_EN: frames wait for descriptors
    const i = this.inRegs;
    const rb = R.rxQueueBase(0) >>> 2;
    i[R.FCTRL >>> 2] |= R.FCTRL_UPE | R.FCTRL_MPE;
    i[rb + (R.RDBAH_OFF >>> 2)] = Math.floor(rxMem.phys / 2 ** 32);
    i[rb + (R.RDBAL_OFF >>> 2)] = rxMem.phys >>> 0;
    i[rb + (R.RDLEN_OFF >>> 2)] = SIZE * 16;
    i[rb + (R.SRRCTL_OFF >>> 2)] = (i[rb + (R.SRRCTL_OFF >>> 2)] & ~R.SRRCTL_BSIZEPACKET_MASK & ~R.SRRCTL_DROP_EN) | 2;
    i[rb + (R.DCA_RXCTRL_OFF >>> 2)] &= ~R.DCA_RXCTRL_BIT12;
    i[rb + (R.RXDCTL_OFF >>> 2)] |= R.XDCTL_ENABLE;
    sim.sync(); // a barrier: the worker has seen every write so far
    i[rb + (R.RDT_OFF >>> 2)] = SIZE - 1;
    i[R.FCRTH(0) >>> 2] = 0x7a000;
    i[R.RDRXCTL >>> 2] = (i[R.RDRXCTL >>> 2] & ~R.RDRXCTL_RSCFRSTSIZE_MASK) | R.RDRXCTL_CRCSTRIP;
    i[R.SECRXCTRL >>> 2] |= R.SECRXCTRL_RX_DIS;
    sim.sync(); // a barrier: the worker has seen every write so far
    i[R.RXCTRL >>> 2] |= R.RXCTRL_RXEN;
    sim.sync();
    i[R.SECRXCTRL >>> 2] &= ~R.SECRXCTRL_RX_DIS;
    sim.sync(); // a barrier: the worker has seen every write so far
  }

  /** Forward what has arrived (up to a budget), as TinyNF's agent does; returns the number of frames forwarded. */
  run(budget: number): number {
    const rx = this.rx;
    const tx = this.tx;
    let n = 0;
    while (n < budget) {
      const p = this.processed;
      const w3 = Atomics.load(rx, p * 4 + 3);
      if ((w3 & R.RX_LEGACY_W3_DD) === 0) break;
      const length = rx[p * 4 + 2] & 0xffff;
      rx[p * 4 + 2] = 0;
      rx[p * 4 + 3] = 0;
      const rs = (p & (RS_PERIOD - 1)) === RS_PERIOD - 1;
      tx[p * 4 + 2] = (length | R.TX_CMD_EOP | R.TX_CMD_IFCS | (rs ? R.TX_CMD_RS : 0)) >>> 0;
      tx[p * 4 + 3] = 0;
      this.processed = (p + 1) & (SIZE - 1);
      n++;
      if (++this.unflushed === FLUSH_PERIOD) this.flush();
      if (rs) {
        // the receive tail follows the earliest transmit head (one output here)
        const head = Atomics.load(this.head, 0);
        this.inRegs[(R.rxQueueBase(0) + R.RDT_OFF) >>> 2] = (head - 1) & (SIZE - 1);
      }
    }
    if (n === 0 && this.unflushed !== 0) this.flush();
    if (n === 0) {
      // idle: recycle what has been sent
      const head = Atomics.load(this.head, 0);
      this.inRegs[(R.rxQueueBase(0) + R.RDT_OFF) >>> 2] = (head - 1) & (SIZE - 1);
    }
    return n;
  }

  private flush(): void {
    this.outRegs[(R.txQueueBase(0) + R.TDT_OFF) >>> 2] = this.processed;
    this.unflushed = 0;
  }
}

describe('worker mode: TinyNF-style tail writes at the highest rate', () => {
  test('every frame the driver forwarded is transmitted: no tail lap, no violation, no warning', async () => {
    const sim = SimWorker.start({ ports: 2, dmaBytes: 16 * 1024 * 1024 });
    try {
      const fwd = new TinyNfPattern(sim, 0, 1);
      sim.addOutput(1, { kind: 'count' });
      const count = 200_000;
      sim.setInput(0, { kind: 'generator', rate: 'unlimited', count });
      let forwarded = 0;
      const end = performance.now() + 60_000;
      for (let round = 0; ; round++) {
        forwarded += fwd.run(64);
        if ((round & 255) === 0) {
          const s0 = sim.stats(0);
          const s1 = sim.stats(1);
          if (s0.rxPackets + s0.rxMissed >= count && s1.txPackets >= s0.rxPackets) break;
          if (performance.now() > end) break;
        }
      }
      sim.sync();
      const s0 = sim.stats(0);
      const s1 = sim.stats(1);
      expect(s0.rxPackets + s0.rxMissed).toBe(count);
      expect(forwarded).toBe(s0.rxPackets);
      expect(s1.txPackets).toBe(forwarded);
      expect(s0.rxPackets).toBeGreaterThan(count / 2); // no DROP_EN: frames wait for descriptors rather than drop
      const result = await sim.stop();
      expect(result.violations).toEqual([]);
      expect(result.warnings.map((w) => w.rule)).toEqual([]);
    } finally {
      await sim.stop();
    }
  }, 90_000);
});

describe('worker mode: statistics through the environment', () => {
  // with 2 threads port 1's reads are answered by the second simulator thread
  test.each([1, 2])('readStatistic32 is answered by the simulator thread of the port and clears the counter (%i thread(s))', async (threads) => {
    const sim = SimWorker.start({ ports: 2, threads, dmaBytes: 16 * 1024 * 1024 });
    try {
      const fwd = new TinyNfPattern(sim, 0, 1);
      sim.setInput(0, { kind: 'generator', rate: 'unlimited', count: 1000 });
      const end = performance.now() + 20_000;
      while (sim.stats(1).txPackets < 1000 && performance.now() < end) fwd.run(64);
      sim.sync();
      const env = new SimulatedEnvironment(sim);
      const bar0 = { read32: () => 0 } as never;
      expect(env.readStatistic32(sim.addresses[0], bar0, R.GPRC)).toBe(1000);
      expect(env.readStatistic32(sim.addresses[0], bar0, R.GPRC)).toBe(0);
      expect(env.readStatistic32(sim.addresses[1], bar0, R.GPTC)).toBe(1000);
      expect(env.readStatistic32(sim.addresses[1], bar0, R.GOTCL)).toBe(1000 * 64);
      expect(env.readStatistic32(sim.addresses[1], bar0, R.GOTCH)).toBe(0);
      expect(env.readStatistic32(sim.addresses[1], bar0, R.GOTCL)).toBe(0);
      expect(() => sim.readStatistic32(sim.addresses[0], 3)).toThrow(/multiple of 4/);
    } finally {
      const result = await sim.stop();
      expect(result.violations).toEqual([]);
    }
  }, 60_000);
});
