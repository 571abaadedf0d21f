// NF chains: several two-port NFs in one process, one after the other on the same buffer (no copy), each with its own
// state and counters. `tinynf run nat+firewall` is chainDefinition([nat, firewall]) (src/nf/index.ts looks up a name
// with '+' this way). A chain is an NF definition like any other, so it runs under every driver model.
//
// How ports compose (docs/packets.md, "Chaining NFs"): the stages stand in a line between the chain's port 0 and
// port 1, in the order named:   port 0 — A — B — ... — port 1
// - A frame received on port 0 goes through A's handler for port 0, then B's handler for port 0, ...; a frame
//   received on port 1 goes through the last stage's handler for port 1, then the one before it, ..., then A's.
// - A stage that sends the frame toward the far side (output port != the port it came from) passes it to the next
//   stage, with the length it returned; after the last stage it leaves on the far port.
// - A stage that sends the frame back (a hairpin: output port == the port it came from, e.g. an ARP or ICMP answer)
//   makes it leave on the chain port it arrived on at once: the stages before it are not run again on the way back.
// - A stage that does neither (all outputs 0, or a returned length 0) drops it; later stages never see it (a hairpin
//   an earlier stage asked for still leaves, with the length the dropping stage was given).
// - A stage that does both (forward and hairpin) sends the frame on both ports; since there is one buffer, the
//   hairpinned copy carries whatever the later stages changed.
// Counters are each stage's, prefixed with its name and a dot ("nat.port_exhausted"); a name used twice gets a
// suffix ("nop", "nop_2"). Configuration: an object with one key per stage (`{"nat": {...}, "firewall": {...}}`,
// e.g. from --config); missing stages take their defaults. Per-NF command-line flags apply to single NFs only.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import type { NfDefinition } from './config';
import type { NetworkFunction, NfContext } from './network-function';
import { Field, schema } from './schema';

/** Stage keys: the NF names, with _2, _3... for repeats. */
export function chainKeys(defs: readonly NfDefinition[]): string[] {
  const seen = new Map<string, number>();
  return defs.map((d) => {
    const n = (seen.get(d.name) ?? 0) + 1;
    seen.set(d.name, n);
    return n === 1 ? d.name : `${d.name}_${n}`;
  });
}

/** The definition of the chain of `defs` (two or more two-port NFs), in order from port 0 to port 1. */
export function chainDefinition(defs: readonly NfDefinition[]): NfDefinition<Record<string, unknown>> {
  if (defs.length < 2) throw new TinyNfError(`a chain needs two or more NFs, got ${defs.length}`);
  const keys = chainKeys(defs);
  const name = defs.map((d) => d.name).join('+');
  const fields: Record<string, Field<unknown>> = {};
  defs.forEach((d, i) => (fields[keys[i]] = d.config));
  // simulated traffic (`tinynf run a+b --sim`): what the first stage that chooses any would get
  const withTraffic = defs.findIndex((d) => d.traffic !== undefined);
  return {
    name,
    description: `chain: ${defs.map((d) => d.name).join(' then ')} (port 0 -> ${keys.join(' -> ')} -> port 1)`,
    // the stages' schemas side by side (for documentation); parseConfig() below runs each stage's own parser
    config: schema.object(fields) as unknown as NfDefinition<Record<string, unknown>>['config'],
    flags: {},
    traffic: withTraffic < 0 ? undefined : (port, config) => defs[withTraffic].traffic!(port, config[keys[withTraffic]]),
    parseConfig(raw: unknown): Record<string, unknown> {
      if (raw === undefined || raw === null) raw = {};
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new TinyNfError(`${name} config must be a JSON object with one key per NF (${keys.join(', ')})`);
      const r = raw as Record<string, unknown>;
      for (const k of Object.keys(r)) {
        if (!keys.includes(k)) throw new TinyNfError(`${name} config: unknown field '${k}' (a chain's config has one object per NF: ${keys.join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      defs.forEach((d, i) => (out[keys[i]] = d.parseConfig(r[keys[i]])));
      return out;
    },
    create(config: Record<string, unknown>, ctx: NfContext): NetworkFunction {
      if (ctx.ports !== 2) throw new TinyNfError(`a chain has two ports, got ${ctx.ports}`);
      const stages = defs.map((d, i) => d.create(config[keys[i]], ctx));
      stages.forEach((s, i) => {
        if (s.handlers.length !== 2 || s.outputPorts.length !== 2 || s.outputPorts.some((ports) => ports.some((p) => p !== 0 && p !== 1))) {
          throw new TinyNfError(`${keys[i]} cannot be chained: a chain stage must be a two-port NF`);
        }
      });
      return createChain(name, keys, stages);
    },
  };
}

/** The chain NF over created stages (see the top of this file for the semantics). */
export function createChain(name: string, keys: readonly string[], stages: readonly NetworkFunction[]): NetworkFunction {
  const n = stages.length;
  const handlers: PacketHandler[] = [];
  const outputPorts: number[][] = [];
  for (let port = 0; port < 2; port++) {
    const far = port ^ 1;
    const order = port === 0 ? stages.map((_, i) => i) : stages.map((_, i) => n - 1 - i);
    const stageHandlers = order.map((k) => stages[k].handlers[port]);
    const scratch = order.map((k) => new Uint8Array(stages[k].outputPorts[port].length));
    // per stage and output slot: 1 = toward the far side, 2 = back out of `port`
    const direction = order.map((k) => Uint8Array.from(stages[k].outputPorts[port], (p) => (p === port ? 2 : 1)));
    const canHairpin = direction.some((d) => d.includes(2));
    const ports = canHairpin ? [far, port] : [far];
    outputPorts.push(ports);
    const FAR = 0;
    const BACK = 1;
    handlers.push((packet, data, length, outputs) => {
      let len = length;
      let back = 0;
      for (let s = 0; s < n; s++) {
        const out = scratch[s];
        out.fill(0);
        const before = len;
        len = stageHandlers[s](packet, data, len, out);
        const dir = direction[s];
        let forward = 0;
        for (let j = 0; j < out.length; j++) {
          if (out[j] !== 0) {
            if (dir[j] === 2) back = 1;
            else forward = 1;
          }
        }
        if (len === 0 || forward === 0) {
          // dropped (or only hairpinned) here: a hairpin of this or an earlier stage still leaves on `port`
          if (back === 0) return 0;
          outputs[BACK] = 1;
          return len === 0 ? before : len;
        }
      }
      outputs[FAR] = 1;
      if (back === 1) outputs[BACK] = 1;
      return len;
    });
  }
  return {
    name,
    outputPorts,
    handlers,
    counters: () => {
      const c: Record<string, number> = {};
      stages.forEach((s, i) => {
        for (const [k, v] of Object.entries(s.counters())) c[`${keys[i]}.${k}`] = v;
      });
      return c;
    },
  };
}
