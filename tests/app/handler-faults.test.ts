// Handler faults, for every driver model (restricted agent, flexible queues, compat shim), through the real driver on
// the in-memory 82599: a handler that throws, returns a bad length, or sets outputs it does not have never makes a
// frame come out that it did not approve, with the length it returned; every later frame is intact; faults are
// counted (handlerErrors), the first is reported once, and failFast stops at once with one line.
import fc from 'fast-check';
import { DRIVER_MODELS, DriverModel } from '../../src/app/driver-ports';
import { Testbed } from '../../src/app/testbed';
import { TinyNfError } from '../../src/env/environment';
import type { PacketHandler } from '../../src/ixgbe/handler';
import { HandlerFault, HandlerFaultError } from '../../src/ixgbe/handler-faults';
import type { NetworkFunction } from '../../src/nf/network-function';

type Action =
  | { kind: 'pass'; length: number }
  | { kind: 'drop' }
  | { kind: 'throw'; thrown: unknown }
  | { kind: 'bad-length'; length: unknown }
  | { kind: 'ghost-output'; length: number; also: boolean };

const BAD_LENGTHS: unknown[] = [-1, -60, 60.5, 2049, 1e9, NaN, Infinity, '60', undefined, null, 2 ** 32 + 60];

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('pass' as const), length: fc.integer({ min: 60, max: 1514 }) }),
  fc.constant({ kind: 'drop' as const }),
  fc.record({ kind: fc.constant('throw' as const), thrown: fc.oneof(fc.constant(new Error('boom')), fc.constant(new RangeError('range')), fc.constant('a string'), fc.constant(undefined)) }),
  fc.record({ kind: fc.constant('bad-length' as const), length: fc.constantFrom(...BAD_LENGTHS) }),
  fc.record({ kind: fc.constant('ghost-output' as const), length: fc.integer({ min: 60, max: 1514 }), also: fc.boolean() }),
);

/** Frame i: 60..128 bytes, its index in bytes 14..15 (the handler finds its action from it). */
function frame(i: number, length: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]); // local experimental ethertype
  f[14] = i >> 8;
  f[15] = i & 0xff;
  for (let j = 16; j < length; j++) f[j] = (i * 31 + j) & 0xff;
  return f;
}

/** What an approved frame i looks like once the handler has written it: bytes 16.. set to a pattern of i. */
function written(i: number, length: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, i >> 8, i & 0xff]);
  for (let j = 16; j < length; j++) f[j] = (i * 7 + j + 1) & 0xff;
  return f;
}

/** An NF whose port-0 handler does actions[i] to frame i (sending to port 1); port 1's handler passes. */
function faultyNf(actions: readonly Action[]): NetworkFunction {
  const handler: PacketHandler = (packet, _data, length, outputs) => {
    const i = (packet[14] << 8) | packet[15];
    const a = actions[i];
    const write = (len: number): void => {
      for (let j = 16; j < len; j++) packet[j] = (i * 7 + j + 1) & 0xff;
    };
    switch (a.kind) {
      case 'pass':
        write(a.length);
        outputs[0] = 1;
        return a.length;
      case 'drop':
        outputs[0] = 1; // set, then changed its mind: returning 0 drops whatever outputs say
        return 0;
      case 'throw':
        write(length);
        outputs[0] = 1; // approved, then threw: must not go out
        throw a.thrown;
      case 'bad-length':
        write(length);
        outputs[0] = 1;
        return a.length as number;
      case 'ghost-output':
        write(a.length);
        // outputs it does not have (one output here): a typed array ignores these writes
        outputs[1] = 1;
        outputs[4] = 1;
        (outputs as unknown as Record<string, number>)['-1'] = 1;
        if (a.also) outputs[0] = 1;
        return a.length;
    }
  };
  const pass: PacketHandler = (_p, _d, length, outputs) => {
    outputs[0] = 1;
    return length;
  };
  return { name: 'faulty', outputPorts: [[1], [0]], handlers: [handler, pass], counters: () => ({}) };
}

function approved(a: Action): number | null {
  if (a.kind === 'pass') return a.length;
  if (a.kind === 'ghost-output' && a.also) return a.length;
  return null;
}

const faults = (a: Action): number => (a.kind === 'throw' || a.kind === 'bad-length' ? 1 : 0);

describe.each(DRIVER_MODELS.map((m) => [m]))('handler faults, %s model', (model: DriverModel) => {
  it('property: only approved frames come out, with the returned length and content, in order; faults are counted', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(action, fc.integer({ min: 60, max: 128 })), { minLength: 1, maxLength: 80 }), (cases) => {
        const reports: HandlerFault[] = [];
        const tb = Testbed.create({ model, faults: { report: (f) => reports.push(f) } });
        tb.attach(faultyNf(cases.map((c) => c[0])));
        cases.forEach(([, len], i) => tb.send(0, frame(i, len)));
        tb.run();
        const expected = cases.flatMap(([a], i) => {
          const l = approved(a);
          return l === null ? [] : [written(i, l)];
        });
        const out = tb.received(1);
        expect(out.length).toBe(expected.length);
        out.forEach((f, k) => expect(Buffer.from(f).equals(Buffer.from(expected[k]))).toBe(true));
        expect(tb.received(0)).toEqual([]);
        const stats = tb.stats().forwarders[0]!;
        const faultCount = cases.reduce((n, [a]) => n + faults(a), 0);
        expect(stats.handlerErrors).toBe(faultCount);
        expect(stats.rxPackets).toBe(cases.length);
        expect(stats.droppedPackets).toBe(cases.length - expected.length);
        expect(reports.length).toBe(faultCount > 0 ? 1 : 0); // the first one only
        if (faultCount > 0) expect(reports[0].nf).toBe('faulty');
        expect(tb.violations).toEqual([]);
      }),
      { numRuns: 12 },
    );
  });

  it('goes on after a fault: 1000 frames, every 3rd throws, the others all arrive intact', () => {
    const actions: Action[] = [];
    for (let i = 0; i < 1000; i++) actions.push(i % 3 === 1 ? { kind: 'throw', thrown: new Error(`frame ${i}`) } : { kind: 'pass', length: 64 });
    const tb = Testbed.create({ model, faults: { report: null } });
    tb.attach(faultyNf(actions));
    for (let i = 0; i < 1000; i++) tb.send(0, frame(i, 64));
    tb.run();
    const out = tb.received(1);
    const want = actions.flatMap((a, i) => (a.kind === 'pass' ? [written(i, 64)] : []));
    expect(out.length).toBe(want.length);
    out.forEach((f, k) => expect(Buffer.from(f).equals(Buffer.from(want[k]))).toBe(true));
    expect(tb.stats().forwarders[0]!.handlerErrors).toBe(333);
  });

  it('reports the first fault once, with the NF name, the port and the stack', () => {
    const reports: HandlerFault[] = [];
    const tb = Testbed.create({ model, faults: { report: (f) => reports.push(f) } });
    tb.attach(faultyNf([{ kind: 'throw', thrown: new Error('first') }, { kind: 'throw', thrown: new Error('second') }, { kind: 'pass', length: 60 }]));
    for (let i = 0; i < 3; i++) tb.send(0, frame(i, 60));
    tb.run();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ nf: 'faulty', port: 0 });
    expect((reports[0].error as Error).message).toBe('first');
    expect((reports[0].error as Error).stack).toMatch(/handler-faults\.test\.(js|ts)/);
    expect(tb.received(1)).toHaveLength(1);
  });

  it('failFast: the first fault stops with one line (a TinyNfError) naming the NF; earlier frames went out', () => {
    const tb = Testbed.create({ model, faults: { failFast: true, report: null } });
    tb.attach(faultyNf([{ kind: 'pass', length: 60 }, { kind: 'throw', thrown: new TypeError('x is not a function\nsecond line') }, { kind: 'pass', length: 60 }]));
    for (let i = 0; i < 3; i++) tb.send(0, frame(i, 60));
    let error: unknown;
    try {
      tb.run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HandlerFaultError);
    expect(error).toBeInstanceOf(TinyNfError);
    expect((error as Error).message).toBe('NF faulty: the handler of port 0 failed: TypeError: x is not a function (--fail-fast: stopped)');
    // bad lengths stop too
    const tb2 = Testbed.create({ model, faults: { failFast: true, report: null } });
    tb2.attach(faultyNf([{ kind: 'bad-length', length: -5 }]));
    tb2.send(0, frame(0, 60));
    expect(() => tb2.run()).toThrow(/NF faulty: the handler of port 0 failed: TinyNfError: returned length -5, not an integer 0\.\.\d+ \(--fail-fast: stopped\)/);
  });
});
