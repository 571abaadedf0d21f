import { nfDefinition } from '../../src/nf';
import { Testbed } from '../../src/app/testbed';
import { udpFrame } from './frames';

describe.each(['restricted', 'flexible', 'compat'] as const)('nop and macrewrite (%s model)', (model) => {
  it('nop forwards byte-equal in both directions', () => {
    const tb = Testbed.create({ ports: 2, model });
    tb.attach(nfDefinition('nop').create({}, { clock: tb.env, ports: 2 }));
    const a = udpFrame({ dst: '10.0.0.1', size: 200, tag: 7 });
    const b = udpFrame({ dst: '10.1.0.1', size: 64, tag: 8 });
    tb.send(0, a);
    tb.send(1, b);
    tb.run();
    expect(tb.received(1)).toEqual([a]);
    expect(tb.received(0)).toEqual([b]);
    expect(tb.violations).toEqual([]);
  });

  it('macrewrite sets dst 00:00:00:00:00:01 and src 0 and leaves the rest', () => {
    const tb = Testbed.create({ ports: 2, model });
    tb.attach(nfDefinition('macrewrite').create({}, { clock: tb.env, ports: 2 }));
    const f = udpFrame({ dst: '10.0.0.1', size: 100 });
    tb.send(0, f);
    tb.run();
    const [out] = tb.received(1);
    expect(Array.from(out.subarray(0, 12))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(out.subarray(12)).toEqual(f.subarray(12));
    expect(tb.violations).toEqual([]);
  });
});
