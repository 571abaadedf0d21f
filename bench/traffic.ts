// The traffic each NF is benchmarked with: which port(s) receive generated frames and which header fields vary
// between flows, so that the flows land in the NF's table (as the TinyNF/Vigor benchmarks did: 64-byte frames,
// flows filling 90% of the table). Unidirectional runs use the NF's "interesting" direction; bidirectional runs
// feed both ports.
import type { NfDefinition } from '../src/nf';
import type { GeneratorOptions, FlowField } from '../src/sim/wires/generator';

/** Share of an NF's table capacity the flows fill. */
export const FILL = 0.9;
/** Flows for NFs without a table (nop, macrewrite): enough to defeat any accidental caching. */
export const FLOWS_WITHOUT_TABLE = 1024;
/** Frames without FCS: 64 bytes on the wire. */
export const FRAME_SIZE = 60;

interface Profile {
  /** Input port of unidirectional runs. */
  port: number;
  /** Fields varied per flow, for frames entering port 0 (LAN) and port 1 (WAN). */
  vary: [FlowField, FlowField];
  why: string;
}

const DEFAULT_PROFILE: Profile = { port: 0, vary: ['srcIp', 'dstIp'], why: 'LAN -> WAN, one flow per source address' };

/**
 * Known NFs. Unknown ones (added after this file) get the default: LAN -> WAN with varying source addresses, and
 * destination addresses on the way back.
 */
const PROFILES: Record<string, Profile> = {
  nop: { port: 0, vary: ['srcIp', 'dstIp'], why: 'LAN -> WAN' },
  macrewrite: { port: 0, vary: ['srcIp', 'dstIp'], why: 'LAN -> WAN' },
  policer: { port: 1, vary: ['srcIp', 'dstIp'], why: 'WAN -> LAN is policed, per destination address' },
  nat: { port: 0, vary: ['srcIp', 'dstIp'], why: 'LAN -> WAN creates the translations' },
  firewall: { port: 0, vary: ['srcIp', 'dstIp'], why: 'LAN -> WAN opens the connections' },
  lb: { port: 0, vary: ['srcIp', 'srcIp'], why: 'clients (port 0) spread over the backends, one connection per source address' },
  bridge: { port: 0, vary: ['srcMac', 'srcMac'], why: 'MAC learning: one flow per source MAC address' },
  maclookup: { port: 0, vary: ['srcMac', 'srcMac'], why: 'one flow per source MAC address' },
};

export function profileOf(nf: string): Profile {
  return PROFILES[nf] ?? DEFAULT_PROFILE;
}

/** Flows for `def` with its default configuration: 90% of its capacity, or FLOWS_WITHOUT_TABLE. */
export function flowsFor(def: NfDefinition, config: unknown): number {
  const capacity = def.capacity?.(config);
  if (capacity === undefined || !(capacity > 0)) return FLOWS_WITHOUT_TABLE;
  return Math.max(1, Math.floor(capacity * FILL));
}

/** Generator options for frames entering `port`. */
export function generatorFor(nf: string, port: number, flows: number, rate: GeneratorOptions['rate'], stamp = false): GeneratorOptions {
  const p = profileOf(nf);
  return {
    flows,
    rate,
    frameSize: FRAME_SIZE,
    seed: 1 + port,
    srcIp: port === 0 ? '10.0.0.1' : '10.1.0.1',
    dstIp: port === 0 ? '10.1.0.1' : '10.0.0.1',
    // far apart, so varied source MACs of one port never reach the other's (bridges would see stations move)
    srcMac: port === 0 ? '02:00:00:00:00:01' : '02:00:00:10:00:01',
    dstMac: port === 0 ? '02:00:00:10:00:01' : '02:00:00:00:00:01',
    vary: p.vary[port === 0 ? 0 : 1],
    stamp,
  };
}

/**
 * The flexible model as benchmarked: batches of 32 (issue 6), and 1024-descriptor rings like the restricted agent's
 * (and DPDK's l2fwd default), so that both models buffer the same number of packets while the driver is busy.
 */
export const FLEXIBLE_OPTIONS = { batchSize: 32, ringSize: 1024 } as const;
