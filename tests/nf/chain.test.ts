// NF chains: the port composition rules of src/nf/chain.ts on small stages, and nat+firewall through the real driver
// on the in-memory 82599 (a LAN flow out and its reply back in pass both NFs; an unsolicited WAN packet does not).
import { TinyNfError } from '../../src/env/environment';
import type { PacketHandler } from '../../src/ixgbe/handler';
import { nfDefinition } from '../../src/nf';
import { createChain } from '../../src/nf/chain';
import { frame } from '../../src/nf/lib/build';
import type { NetworkFunction } from '../../src/nf/network-function';
import { Testbed } from '../../src/app/testbed';
import { ipv4, l4ChecksumOf } from './frames';

/** A stage that appends its tag to byte 20.. (a trace), and forwards, hairpins or drops by the frame's byte 19. */
function stage(tag: number, log: number[]): NetworkFunction {
  const mk = (port: number): PacketHandler => (packet, _data, length, outputs) => {
    log.push(tag * 10 + port);
    packet[length] = tag;
    const action = packet[19]; // 0 forward, 1 hairpin at stage `tag` (byte 18), 2 drop at stage `tag`, 3 both
    const mine = packet[18] === tag;
    if (mine && action === 2) return 0;
    if (mine && action === 1) outputs[1] = 1;
    else if (mine && action === 3) { outputs[0] = 1; outputs[1] = 1; }
    else outputs[0] = 1;
    return length + 1;
  };
  let seen = 0;
  return { name: `s${tag}`, outputPorts: [[1, 0], [0, 1]], handlers: [mk(0), mk(1)], counters: () => ({ seen: ++seen }) };
}

function run(nf: NetworkFunction, port: number, stageTag: number, action: number): { len: number; outputs: number[]; trace: number[] } {
  const packet = new Uint8Array(64);
  packet[18] = stageTag;
  packet[19] = action;
  const outputs = new Uint8Array(nf.outputPorts[port].length);
  const len = nf.handlers[port](packet, new DataView(packet.buffer), 20, outputs);
  return { len, outputs: Array.from(outputs), trace: Array.from(packet.subarray(20, len)) };
}

describe('chain composition rules', () => {
  test('forward: port 0 through stages in order, port 1 in reverse; lengths carry over', () => {
    const log: number[] = [];
    const nf = createChain('a+b+c', ['a', 'b', 'c'], [stage(1, log), stage(2, log), stage(3, log)]);
    expect(nf.outputPorts).toEqual([[1, 0], [0, 1]]); // far port first; the hairpin slot because stages can hairpin
    expect(run(nf, 0, 0, 0)).toEqual({ len: 23, outputs: [1, 0], trace: [1, 2, 3] });
    expect(run(nf, 1, 0, 0)).toEqual({ len: 23, outputs: [1, 0], trace: [3, 2, 1] });
    expect(log).toEqual([10, 20, 30, 31, 21, 11]);
  });

  test('hairpin leaves on the arrival port at once; drop stops the frame; both sends both ways', () => {
    const log: number[] = [];
    const nf = createChain('a+b+c', ['a', 'b', 'c'], [stage(1, log), stage(2, log), stage(3, log)]);
    expect(run(nf, 0, 2, 1)).toEqual({ len: 22, outputs: [0, 1], trace: [1, 2] });
    expect(run(nf, 1, 2, 2)).toEqual({ len: 0, outputs: [0, 0], trace: [] });
    expect(run(nf, 0, 2, 3)).toEqual({ len: 23, outputs: [1, 1], trace: [1, 2, 3] });
    expect(log).toEqual([10, 20, 31, 21, 10, 20, 30]);
  });

  test('counters are prefixed with the stage name; a repeated NF gets a suffix', () => {
    const def = nfDefinition('nop+macrewrite+nop');
    expect(def.name).toBe('nop+macrewrite+nop');
    const nf = def.create(def.parseConfig(undefined), { clock: { nowNs: () => 0 }, ports: 2 });
    expect(Object.keys(nf.counters())).toEqual(['macrewrite.runt']);
    expect(nf.outputPorts).toEqual([[1], [0]]);
    expect(() => def.parseConfig({ firewall: {} })).toThrow(TinyNfError);
    expect(() => def.parseConfig({ firewall: {} })).toThrow(/unknown field 'firewall'.*nop, macrewrite, nop_2/);
    expect(() => nfDefinition('nop+nosuch')).toThrow(/unknown network function 'nosuch'/);
  });
});

describe('nat+firewall on the in-memory 82599', () => {
  test('a LAN flow goes out translated and its reply comes back; unsolicited WAN traffic is dropped by the firewall', () => {
    const tb = Testbed.create({ ports: 2, model: 'restricted' });
    const def = nfDefinition('nat+firewall');
    const nf = def.create(def.parseConfig({ nat: { externalIp: '10.1.0.1', startPort: 5000, endPort: 5000 }, firewall: { capacity: 64 } }), { clock: tb.env, ports: 2 });
    tb.attach(nf);
    const out = frame().eth().ipv4({ src: '10.0.0.2', dst: '10.1.0.2' }).udp({ sport: 4444, dport: 53 }).payload(20).build();
    tb.send(0, out);
    tb.run();
    const [sent] = tb.received(1);
    expect(sent).toBeDefined();
    const d = new DataView(sent.buffer, sent.byteOffset);
    expect([d.getUint32(26), d.getUint16(34)]).toEqual([ipv4('10.1.0.1'), 5000]);
    expect(l4ChecksumOf(sent)).toBe(0);
    const reply = frame().eth().ipv4({ src: '10.1.0.2', dst: '10.1.0.1' }).udp({ sport: 53, dport: 5000 }).payload(20).build();
    const stranger = frame().eth().ipv4({ src: '10.1.0.9', dst: '10.1.0.1' }).udp({ sport: 53, dport: 5000 }).payload(20).build();
    tb.send(1, reply);
    tb.send(1, stranger);
    tb.run();
    const back = tb.received(0);
    expect(back).toHaveLength(1);
    const b = new DataView(back[0].buffer, back[0].byteOffset);
    expect([b.getUint32(30), b.getUint16(36)]).toEqual([ipv4('10.0.0.2'), 4444]);
    expect(l4ChecksumOf(back[0])).toBe(0);
    const c = nf.counters();
    expect([c['nat.translated_out'], c['firewall.passed_out'], c['firewall.passed_in'], c['nat.translated_in'], c['firewall.no_flow']]).toEqual([1, 1, 1, 1, 1]);
    expect(tb.violations).toEqual([]);
  });
});

test("a user's NF module in front of a built-in: tinynf run ./monitor.js+nat resolves to the chain", () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { resolveNf } = require('../../src/app/nf-module') as typeof import('../../src/app/nf-module');
  const fs = require('fs') as typeof import('fs');
  const os = require('os') as typeof import('os');
  const path = require('path') as typeof import('path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tnf14-chain-'));
  try {
    const file = path.join(dir, 'monitor.js');
    fs.writeFileSync(file, `let seen = 0;
module.exports = { name: 'monitor', create: () => ({ name: 'monitor', outputPorts: [[1], [0]],
  handlers: [0, 1].map(() => (p, d, len, out) => { seen++; out[0] = 1; return len; }), counters: () => ({ seen }) }) };
`);
    const def = resolveNf(`${file}+nat`);
    expect(def.name).toBe('monitor+nat');
    const tb = Testbed.create({ ports: 2, model: 'restricted' });
    const nf = def.create(def.parseConfig({ nat: { externalIp: '10.1.0.1' } }), { clock: tb.env, ports: 2 });
    tb.attach(nf);
    tb.send(0, frame().eth().ipv4({ src: '10.0.0.2', dst: '10.1.0.2' }).udp({ sport: 1, dport: 2 }).padTo(60).build());
    tb.run();
    expect(tb.received(1)).toHaveLength(1);
    expect([nf.counters()['monitor.seen'], nf.counters()['nat.translated_out']]).toEqual([1, 1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
