// The driver's NIC statistics (Section 8.2.3.23): clear-on-read registers read through Environment.readStatistic32
// and accumulated. With a scripted environment (exact register values per read) and through the real driver on the
// in-memory 82599.
import { Testbed } from '../../src/app/testbed';
import { DeviceMemory } from '../../src/env/device-memory';
import type { Environment } from '../../src/env/environment';
import * as S from '../../src/ixgbe/statistics';
import type { NetworkFunction } from '../../src/nf/network-function';

/** An environment whose statistics reads return scripted values, then 0 (as a register cleared by the read). */
function scripted(values: Record<number, number[]>): { env: Environment; reads: number[] } {
  const reads: number[] = [];
  const env = {
    readStatistic32: (_address: string, _bar0: DeviceMemory, offset: number): number => {
      reads.push(offset);
      return values[offset]?.shift() ?? 0;
    },
  } as unknown as Environment;
  return { env, reads };
}

describe('NicStatistics', () => {
  it('reads every counter once per update, accumulates, and joins the 36-bit octet counters (low half first)', () => {
    const { env, reads } = scripted({
      [S.GPRC]: [10, 5],
      [S.GPTC]: [7, 1],
      [S.GORCL]: [0xffffff00, 0x200],
      [S.GORCH]: [0x3, 0x0],
      [S.GOTCL]: [100, 0],
      [S.GOTCH]: [0xf1, 0], // only bits 3:0 are the counter's
      [S.MPC(0)]: [2],
      [S.MPC(7)]: [1, 1],
      [S.QPRDC(0)]: [4],
      [S.QPRDC(15)]: [0, 6],
      [S.CRCERRS]: [1],
      [S.RLEC]: [2],
      [S.RUC]: [3, 3],
      [S.ROC]: [0, 9],
    });
    const stats = new S.NicStatistics(env, '0000:00:00.0', new DeviceMemory(new SharedArrayBuffer(0x20000)));
    stats.update();
    expect(reads.indexOf(S.GORCL)).toBeLessThan(reads.indexOf(S.GORCH));
    expect(reads.indexOf(S.GOTCL)).toBeLessThan(reads.indexOf(S.GOTCH));
    expect(new Set(reads).size).toBe(reads.length); // each register once
    expect(reads.length).toBe(6 + S.MPC_COUNT + S.QPRDC_COUNT + 4);
    const t = stats.update();
    expect(t).toEqual({
      rxGoodPackets: 15,
      txGoodPackets: 8,
      rxGoodOctets: 3 * 2 ** 32 + 0xffffff00 + 0x200,
      txGoodOctets: 2 ** 32 + 100,
      rxMissed: 4,
      rxNoBufferDrops: 10,
      rxCrcErrors: 1,
      rxLengthErrors: 2,
      rxUndersize: 6,
      rxOversize: 9,
    });
    expect(S.snakeCounters(t).rx_no_buffer_drops).toBe(10);
  });
});

const swap = (): NetworkFunction => {
  const h = (_p: Uint8Array, _d: DataView, length: number, outputs: Uint8Array): number => {
    outputs[0] = 1;
    return length;
  };
  return { name: 'swap', outputPorts: [[1], [0]], handlers: [h, h], counters: () => ({}) };
};

describe.each([['restricted'], ['flexible'], ['compat']] as const)('NIC statistics through the %s driver on the in-memory 82599', (model) => {
  it('counts what was forwarded: read once, forward N (and runts), read again -> N', () => {
    const tb = Testbed.create({ model });
    tb.attach(swap());
    const ports = tb.driverPorts;
    ports.updateStatistics(); // clear whatever initialisation counted
    const sizes = [60, 61, 100, 1514, 64, 60, 200];
    for (const len of sizes) tb.send(0, new Uint8Array(len).fill(0x11));
    for (const len of [20, 40, 59]) tb.send(0, new Uint8Array(len).fill(0x22), { pad: false }); // runts: < 64 bytes with FCS
    tb.run();
    const [p0, p1] = ports.updateStatistics();
    expect(p0.rxGoodPackets).toBe(sizes.length);
    expect(p0.rxGoodOctets).toBe(sizes.reduce((n, l) => n + l + 4, 0)); // octets with FCS (Section 8.2.3.23.22)
    expect(p0.rxUndersize).toBe(3);
    expect(p1.txGoodPackets).toBe(sizes.length);
    expect(p1.txGoodOctets).toBe(sizes.reduce((n, l) => n + l + 4, 0));
    expect(p1.rxGoodPackets).toBe(0);
    expect(p0.rxMissed + p0.rxNoBufferDrops + p0.rxCrcErrors + p0.rxOversize).toBe(0);
  });
});
