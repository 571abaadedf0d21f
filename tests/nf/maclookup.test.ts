// maclookup through the real driver on the in-memory 82599, for both driver models. The expected destination MAC is
// recomputed here from TinyNF's definition (table[n] = n * 123 mod 256; byte pairs of the source MAC), not from src/nf.
import { TinyNfError } from '../../src/env/environment';
import { nfDefinition } from '../../src/nf';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { etherFrame, macBytes, udpFrame } from './frames';

function setUp(model: 'restricted' | 'flexible', config: unknown): { tb: Testbed; nf: NetworkFunction } {
  const tb = Testbed.create({ ports: 2, model });
  const def = nfDefinition('maclookup');
  const nf = def.create(def.parseConfig(config), { clock: tb.env, ports: 2 });
  tb.attach(nf);
  return { tb, nf };
}

/** The destination MAC TinyNF's lookup NF gives a frame from `src`. */
function expectedDst(src: number[], multiplier = 123): number[] {
  const t = (hi: number, lo: number): number => (((hi << 8) | lo) * multiplier) % 256;
  return [t(src[0], src[1]), t(src[1], src[0]), t(src[2], src[3]), t(src[3], src[2]), t(src[4], src[5]), t(src[5], src[4])];
}

describe.each(['restricted', 'flexible'] as const)('maclookup (%s model)', (model) => {
  it('sets the destination MAC from the table indexed by source MAC bytes and forwards to the other port', () => {
    const { tb, nf } = setUp(model, undefined);
    const sources = ['02:00:00:00:00:01', '02:12:34:56:78:9a', 'fe:dc:ba:98:76:54', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff'];
    for (let i = 0; i < sources.length; i++) tb.send(0, etherFrame('02:00:00:00:00:02', sources[i], i));
    tb.send(1, udpFrame({ dst: '10.0.0.1', size: 300 }));
    tb.run();
    const out = tb.received(1);
    expect(out).toHaveLength(sources.length);
    for (let i = 0; i < sources.length; i++) {
      const input = etherFrame('02:00:00:00:00:02', sources[i], i);
      expect(Array.from(out[i].subarray(0, 6))).toEqual(expectedDst(macBytes(sources[i])));
      expect(Array.from(out[i].subarray(6))).toEqual(Array.from(input.subarray(6))); // the rest unchanged
    }
    // 02:00:00:00:00:01: pairs (0x0200, 0x0002, 0, 0, 0x0001, 0x0100) -> 0, 0x2*123=246, 0, 0, 123, 0
    expect(Array.from(out[0].subarray(0, 6))).toEqual([0, 246, 0, 0, 123, 0]);
    const [back] = tb.received(0);
    const udp = udpFrame({ dst: '10.0.0.1', size: 300 });
    expect(Array.from(back.subarray(0, 6))).toEqual(expectedDst([2, 0, 0, 0, 0, 1]));
    expect(Array.from(back.subarray(6))).toEqual(Array.from(udp.subarray(6)));
    expect(nf.counters()).toEqual({ forwarded: 6, runt: 0 });
    expect(tb.violations).toEqual([]);
  });

  it('uses the configured multiplier', () => {
    const { tb } = setUp(model, { multiplier: 7 });
    tb.send(1, etherFrame('02:00:00:00:00:02', '0a:0b:0c:0d:0e:0f'));
    tb.run();
    const [out] = tb.received(0);
    expect(Array.from(out.subarray(0, 6))).toEqual(expectedDst([10, 11, 12, 13, 14, 15], 7));
  });
});

describe('maclookup configuration', () => {
  const def = nfDefinition('maclookup');
  it('validates the multiplier', () => {
    expect(def.parseConfig({})).toEqual({ multiplier: 123 });
    expect(() => def.parseConfig({ multiplier: 0 })).toThrow(/multiplier: must be a positive number/);
    expect(() => def.parseConfig({ multiplier: 1.5 })).toThrow(/whole number/);
    expect(() => def.parseConfig({ table: 1 })).toThrow(TinyNfError);
  });

  it('drops frames too short to have a source MAC, counted', () => {
    const tb = Testbed.create({ ports: 2 });
    const nf = def.create(def.parseConfig({}), { clock: tb.env, ports: 2 });
    // the NIC never delivers such frames (minimum 60 bytes on the wire): call the handler directly
    const packet = new Uint8Array(2048);
    const outputs = new Uint8Array(1);
    expect(nf.handlers[0](packet, new DataView(packet.buffer), 10, outputs)).toBe(0);
    expect(outputs[0]).toBe(0);
    expect(nf.counters().runt).toBe(1);
  });
});
