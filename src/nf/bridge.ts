// The bridge: a learning Ethernet switch (IEEE 802.1D transparent bridging, after Vigor's vigbridge) on 2..5 ports.
// - Learning: the source MAC of every accepted frame is recorded with the port it came in on, in a fixed-capacity
//   keyed-hash flow table (src/nf/lib/flow-table.ts); an entry idle for `expiryNs` (default 300 s, the 802.1D
//   recommended ageing time) is forgotten. A MAC seen on another port than its entry says moves there (`moved`).
//   When the table is full a new MAC is not learned (`table_full`); the frame itself is still forwarded.
// - Static entries from the configuration (MAC -> port) never expire and are never overridden by learning: a frame
//   whose source is a static MAC is forwarded normally but teaches nothing; arriving on another port than the
//   static one it is counted (`static_conflict`).
// - Forwarding: a group destination (broadcast or multicast, I/G bit set) is flooded to every other port
//   (`multicast_flooded`); a unicast destination found in the tables goes to its port (`forwarded`), or is dropped
//   if that port is the input port (`hairpin`: the destination is on the segment the frame came from); an unknown
//   unicast destination is flooded (`unknown_flooded`).
// - Dropped and counted: `runt` (under 14 bytes), `invalid_src` (a multicast or all-zero source MAC, which no
//   station may send; Linux's bridge drops these too), `link_local` (destination 01:80:C2:00:00:00-0F, the IEEE
//   802.1D reserved group addresses, e.g. STP BPDUs and LLDP, which a bridge must not forward), `hairpin`.
// Flooding uses the handler's `outputs` array: outputs[k] = 1 for each output; port i's outputs are the other
// ports in increasing order. The restricted agent has at most 4 outputs (MAX_OUTPUTS), so at most 5 ports.
// Time: the NF context's clock (a CoarseClock refreshed once per round of polls), read once per packet.
import { TinyNfError } from '../env/environment';
import { MAX_OUTPUTS } from '../ixgbe/agent';
import type { PacketHandler } from '../ixgbe/handler';
import { NfDefinition, defineNf } from './config';
import { schema } from './schema';
import { FlowTable } from './lib/flow-table';
import { configMac } from './lib/address';
import { ETH_HEADER } from './lib/packet';
import type { NetworkFunction, NfContext } from './network-function';

export interface BridgeStaticEntry {
  /** A unicast MAC address, "02:00:00:00:00:01". */
  mac: string;
  /** The port it lives behind. */
  port: number;
}

export interface BridgeConfig {
  /** Learned MACs at most (flow-table capacity). */
  capacity: number;
  /** A learned MAC idle this long is forgotten, ns. */
  expiryNs: number;
  /** MACs pinned to ports: never expire, never overridden by learning. */
  static: BridgeStaticEntry[];
}

export const BRIDGE_DEFAULTS: BridgeConfig = {
  capacity: 65_536,
  expiryNs: 300_000_000_000, // IEEE 802.1D-2004 Table 7-5: recommended ageing time 300 s (also Linux's default)
  static: [],
};

/** Most ports: the input plus MAX_OUTPUTS outputs of the restricted agent. */
export const BRIDGE_MAX_PORTS = MAX_OUTPUTS + 1;

export function createBridge(config: BridgeConfig, ctx: NfContext): NetworkFunction {
  const ports = ctx.ports;
  if (!Number.isInteger(ports) || ports < 2 || ports > BRIDGE_MAX_PORTS) {
    throw new TinyNfError(`the bridge needs 2 to ${BRIDGE_MAX_PORTS} ports, got ${ports}`);
  }
  const time = new Float64Array(1); // the tables' clock, set once per packet (see FlowTable.time)
  const table = new FlowTable(config.capacity, config.expiryNs, undefined, null, time);
  const learnedPort = new Uint8Array(table.capacity);
  // Static entries: a flow table whose entries never expire (looked up before the learned one).
  const statics = config.static;
  const staticTable = new FlowTable(Math.max(1, statics.length), Number.POSITIVE_INFINITY, undefined, null, time);
  const staticPort = new Uint8Array(staticTable.capacity);
  for (let i = 0; i < statics.length; i++) {
    const mac = parseMac(statics[i].mac, `static[${i}].mac`);
    const port = statics[i].port;
    if (!Number.isInteger(port) || port < 0 || port >= ports) {
      throw new TinyNfError(`bridge config: static[${i}].port must be a port 0..${ports - 1}, got ${JSON.stringify(port)}`);
    }
    const slot = staticTable.findOrInsert((mac[0] << 8) | mac[1], macLow(mac) | 0, 0, 0);
    staticPort[slot] = port;
  }
  const hasStatic = statics.length > 0;

  // outputs of port i: the other ports, in increasing order; outputIndex[i * ports + p] = k such that output k of
  // port i is port p (-1 for p = i).
  const outputPorts: number[][] = [];
  const outputIndex = new Int8Array(ports * ports).fill(-1);
  for (let i = 0; i < ports; i++) {
    const outs: number[] = [];
    for (let p = 0; p < ports; p++) {
      if (p === i) continue;
      outputIndex[i * ports + p] = outs.length;
      outs.push(p);
    }
    outputPorts.push(outs);
  }
  const floodOutputs = ports - 1;
  const clock = ctx.clock;

  const c = {
    forwarded: 0,
    multicast_flooded: 0,
    unknown_flooded: 0,
    learned: 0,
    moved: 0,
    table_full: 0,
    static_conflict: 0,
    // drops
    runt: 0,
    invalid_src: 0,
    link_local: 0,
    hairpin: 0,
  };

  const makeHandler = (input: number): PacketHandler => {
    const base = input * ports;
    return (_packet, data, length, outputs) => {
      if (length < ETH_HEADER) {
        c.runt++;
        return 0;
      }
      time[0] = clock.nowNs();
      table.tick(); // the clock-paced sweep of idle entries
      const srcHigh = data.getUint16(6);
      const srcLow = data.getInt32(8); // as int32: a uint32 above 2^31 would be a (boxed) double
      if ((srcHigh & 0x0100) !== 0 || (srcHigh === 0 && srcLow === 0)) {
        c.invalid_src++; // group or all-zero source address
        return 0;
      }
      const dstHigh = data.getUint16(0);
      const dstLow = data.getInt32(2);
      if (dstHigh === 0x0180 && dstLow >>> 4 === 0x0c200000) {
        c.link_local++; // 01:80:C2:00:00:00-0F, IEEE 802.1D-2004 7.12.6: never forwarded
        return 0;
      }

      // learn the source
      let isStatic = false;
      if (hasStatic) {
        const s = staticTable.find(srcHigh, srcLow, 0, 0);
        if (s >= 0) {
          isStatic = true;
          if (staticPort[s] !== input) c.static_conflict++;
        }
      }
      if (!isStatic) {
        const slot = table.findOrInsert(srcHigh, srcLow, 0, 0, true);
        if (slot < 0) {
          c.table_full++;
        } else if (table.isNew) {
          learnedPort[slot] = input;
          c.learned++;
        } else {
          if (learnedPort[slot] !== input) {
            learnedPort[slot] = input;
            c.moved++;
          }
        }
      }

      // forward
      if ((dstHigh & 0x0100) !== 0) {
        for (let k = 0; k < floodOutputs; k++) outputs[k] = 1;
        c.multicast_flooded++;
        return length;
      }
      let port = -1;
      if (hasStatic) {
        const s = staticTable.find(dstHigh, dstLow, 0, 0);
        if (s >= 0) port = staticPort[s];
      }
      if (port < 0) {
        const slot = table.find(dstHigh, dstLow, 0, 0);
        if (slot >= 0) port = learnedPort[slot];
      }
      if (port < 0) {
        for (let k = 0; k < floodOutputs; k++) outputs[k] = 1;
        c.unknown_flooded++;
        return length;
      }
      if (port === input) {
        c.hairpin++;
        return 0;
      }
      outputs[outputIndex[base + port]] = 1;
      c.forwarded++;
      return length;
    };
  };

  const handlers: PacketHandler[] = [];
  for (let i = 0; i < ports; i++) handlers.push(makeHandler(i));
  return {
    name: 'bridge',
    outputPorts,
    handlers,
    counters: () => ({ ...c, entries: table.size, static_entries: statics.length }),
  };
}

// ---- configuration ----

function macLow(mac: Uint8Array): number {
  return ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0;
}

function parseMac(text: unknown, field: string): Uint8Array {
  return configMac(text, `bridge config: ${field}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CONFIG_FIELDS = ['capacity', 'expiryNs', 'static'];
const STATIC_FIELDS = ['mac', 'port'];

export function parseBridgeConfig(raw: unknown): BridgeConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) throw new TinyNfError('bridge config must be a JSON object');
  for (const k of Object.keys(raw)) {
    if (!CONFIG_FIELDS.includes(k)) throw new TinyNfError(`bridge config: unknown field '${k}' (known: ${CONFIG_FIELDS.join(', ')})`);
  }
  const merged: Record<string, unknown> = { ...BRIDGE_DEFAULTS, ...raw };
  const capacity = merged.capacity;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
    throw new TinyNfError(`bridge config: 'capacity' must be a whole number 1..${1 << 24}, got ${JSON.stringify(capacity)}`);
  }
  const expiryNs = merged.expiryNs;
  if (typeof expiryNs !== 'number' || !Number.isFinite(expiryNs) || expiryNs <= 0) {
    throw new TinyNfError(`bridge config: 'expiryNs' must be a positive number, got ${JSON.stringify(expiryNs)}`);
  }
  if (!Array.isArray(merged.static)) throw new TinyNfError(`bridge config: 'static' must be an array of { mac, port } entries`);
  const seen = new Set<string>();
  const statics: BridgeStaticEntry[] = (merged.static as unknown[]).map((e, i) => {
    if (!isObject(e)) throw new TinyNfError(`bridge config: static[${i}] must be an object { mac, port }`);
    for (const k of Object.keys(e)) {
      if (!STATIC_FIELDS.includes(k)) throw new TinyNfError(`bridge config: unknown field 'static[${i}].${k}' (known: mac, port)`);
    }
    const mac = parseMac(e.mac, `static[${i}].mac`);
    if ((mac[0] & 1) !== 0 || mac.every((b) => b === 0)) {
      throw new TinyNfError(`bridge config: static[${i}].mac ${String(e.mac)} must be a unicast, non-zero MAC address`);
    }
    const port = e.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port >= BRIDGE_MAX_PORTS) {
      throw new TinyNfError(`bridge config: static[${i}].port must be a port number 0..${BRIDGE_MAX_PORTS - 1}, got ${JSON.stringify(port)}`);
    }
    const key = Buffer.from(mac).toString('hex');
    if (seen.has(key)) throw new TinyNfError(`bridge config: static[${i}].mac ${String(e.mac)} appears twice`);
    seen.add(key);
    return { mac: e.mac as string, port };
  });
  return { capacity, expiryNs, static: statics };
}

const BRIDGE_CONFIG = schema.object({
  capacity: schema.integer({ min: 1, max: 1 << 24, default: BRIDGE_DEFAULTS.capacity, describe: 'learned MAC addresses at most' }),
  expiryNs: schema.number({ positive: true, default: BRIDGE_DEFAULTS.expiryNs, describe: 'forget MAC addresses idle this long (ns)' }),
  static: schema.list(schema.object({ mac: schema.string({ describe: 'a unicast MAC address' }), port: schema.integer({ min: 0, max: BRIDGE_MAX_PORTS - 1, describe: 'the port it lives behind' }) }), {
    default: [],
    describe: 'MACs pinned to ports',
  }),
});

export const BRIDGE_DEFINITION: NfDefinition<BridgeConfig> = defineNf({
  name: 'bridge',
  description: 'learning Ethernet bridge: MAC learning with expiry, static entries, flooding of unknown and group destinations, no hairpin',
  config: BRIDGE_CONFIG,
  // the schema checks the fields' types; parseBridgeConfig the MACs (unicast, no duplicates)
  check: (c) => parseBridgeConfig(c),
  // one host behind each port, talking to the other: both are learned and frames are forwarded, not flooded
  traffic: (port) => (port === 0 ? { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' } : { srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01' }),
  create: createBridge,
  capacity: (c) => c.capacity,
});
