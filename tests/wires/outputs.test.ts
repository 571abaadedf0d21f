import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TinyNfError } from '../../src/env/environment';
import { CollectingOutput } from '../../src/sim/wire';
import { CheckerOutput, CountingOutput, TeeOutput } from '../../src/sim/wires/outputs';
import { InputDescription, OutputDescription, closeWire, createInput, createOutput } from '../../src/sim/wires/describe';
import { TrafficGenerator } from '../../src/sim/wires/generator';
import { PcapInput, PcapWriter, readPcap } from '../../src/sim/wires/pcap';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-outputs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('outputs', () => {
  test('CountingOutput counts packets and bytes including the FCS, in shared memory', () => {
    const counters = new Float64Array(new SharedArrayBuffer(16));
    const out = new CountingOutput(counters);
    const frame = new Uint8Array(2048);
    out.frame(frame, 60, 0);
    out.frame(frame, 1514, 10);
    expect([out.packets, out.bytes]).toEqual([2, 64 + 1518]);
    expect(Array.from(counters)).toEqual([2, 1582]);
    out.reset();
    expect(out.packets).toBe(0);
  });

  test('CheckerOutput calls back per frame and TeeOutput feeds every output in order', () => {
    const seen: string[] = [];
    const checker = new CheckerOutput((f, len, t) => seen.push(`${f[0]}:${len}@${t}`));
    const collect = new CollectingOutput();
    const count = new CountingOutput();
    const tee = new TeeOutput(checker, collect, count);
    tee.frame(Uint8Array.of(7, 1, 2, 3), 3, 100);
    tee.frame(Uint8Array.of(9, 9), 2, 200);
    expect(seen).toEqual(['7:3@100', '9:2@200']);
    expect(checker.packets).toBe(2);
    expect(collect.frames.map((f) => Array.from(f))).toEqual([[7, 1, 2], [9, 9]]);
    expect(count.bytes).toBe(3 + 4 + 2 + 4);
    const failing = new CheckerOutput(() => {
      throw new Error('bad frame');
    });
    expect(() => failing.frame(new Uint8Array(60), 60, 0)).toThrow('bad frame');
  });
});

describe('wire descriptions', () => {
  test('survive structured cloning and recreate equivalent wires', () => {
    const capture = path.join(dir, 'described.pcap');
    const inputDesc: InputDescription = { kind: 'generator', flows: 4, frameSize: [60, 128], seed: 9, count: 50 };
    const counters = new Float64Array(new SharedArrayBuffer(16));
    const outputs: OutputDescription[] = [{ kind: 'count', counters }, { kind: 'pcap-out', path: capture, resolution: 'us' }];
    // What postMessage does to a description (the SharedArrayBuffer is shared, not copied).
    const cloned = structuredClone({ inputDesc, outputs });
    const input = createInput(cloned.inputDesc);
    expect(input).toBeInstanceOf(TrafficGenerator);
    const outs = cloned.outputs.map(createOutput);
    const reference = new TrafficGenerator({ flows: 4, frameSize: [60, 128], seed: 9, count: 50 });
    const buf = new Uint8Array(2048);
    const ref = new Uint8Array(2048);
    let n = 0;
    let bytes = 0;
    for (let len = input.next(buf, n); len > 0; len = input.next(buf, n)) {
      expect(reference.next(ref, n)).toBe(len);
      expect(Buffer.from(buf.subarray(0, len)).equals(Buffer.from(ref.subarray(0, len)))).toBe(true);
      for (const o of outs) o.frame(buf, len, n * 1000);
      n++;
      bytes += len + 4;
    }
    expect(n).toBe(50);
    outs.forEach(closeWire);
    expect(Array.from(counters)).toEqual([50, bytes]); // the creator sees the counts through shared memory
    const file = readPcap(capture);
    expect(file.resolution).toBe('us');
    expect(file.records).toHaveLength(50);

    const replay = createInput({ kind: 'pcap', path: capture, loops: 2 });
    expect(replay).toBeInstanceOf(PcapInput);
    let replayed = 0;
    while (replay.next(buf, 0) > 0) replayed++;
    expect(replayed).toBe(100);
    expect(createOutput({ kind: 'pcap-out', path: path.join(dir, 'x.pcap') })).toBeInstanceOf(PcapWriter);
    expect(createInput({ kind: 'none' }).next(buf, 1e12)).toBe(0);
  });

  test('unknown kinds and bad options are TinyNfErrors', () => {
    expect(() => createInput({ kind: 'nope' } as unknown as InputDescription)).toThrow(TinyNfError);
    expect(() => createOutput({ kind: 'nope' } as unknown as OutputDescription)).toThrow(/unknown wire output kind 'nope'/);
    expect(() => createInput({ kind: 'generator', flows: 0 })).toThrow(/flows must be/);
    expect(() => createInput({ kind: 'pcap', path: path.join(dir, 'missing.pcap') })).toThrow(/cannot read pcap file/);
  });
});
