// lb: a Maglev load balancer (Eisenbud et al., NSDI'16) on two ports. Clients are on port 0; the backends are all
// reached through port 1 (one L2 segment), and their replies come back through port 1.
// - Client -> backend (port 0 -> 1): an IPv4 packet (to `vip`, if one is configured) is given a backend and sent
//   on port 1 with its destination MAC rewritten to the backend's (L2 "direct server return" forwarding, as IPVS's
//   DR mode: the backend holds the VIP itself and replies to the client directly). A backend configured with an
//   `ip` instead gets the packet with its destination IPv4 address rewritten to that address (IPVS's NAT mode),
//   IPv4 and TCP/UDP checksums updated incrementally (RFC 1624), and its replies are rewritten back (below).
// - Backend choice: a connection tracked in the flow table (keyed by the 5-tuple: addresses, protocol, TCP/UDP
//   ports) keeps its backend, whatever backends were added since (Maglev Section 3.3: connection tracking makes
//   the table changes harmless to existing connections). A new connection takes the backend of Maglev lookup-table
//   entry hash(5-tuple) mod M (src/nf/lib/maglev.ts); the hash is keyed with a random per-process secret by default
//   (nobody can compute which backend a crafted connection gets), or with `secret` (128 bits) / `seed` (32 bits)
//   from the configuration: LBs that must choose alike share it. A connection whose backend was removed is re-assigned through the new
//   table (`rerouted`). When the flow table is full, a new connection is forwarded by the table alone, untracked
//   (`table_full`; Maglev falls back to consistent hashing the same way).
//   Fragments, and protocols other than TCP/UDP, are keyed by addresses and protocol only (ports 0), so all
//   fragments of a datagram go to one backend (but not necessarily the backend of its connection's unfragmented
//   packets: there is no reassembly).
// - Backend -> client (port 1 -> 0): forwarded unchanged, except that IPv4 from the `ip` of a NAT-mode backend gets
//   its source address rewritten to `vip` (checksums updated). Nothing from port 1 is dropped.
// - Backends can be added and removed at run time (addBackend/removeBackend on the NF object): the table is rebuilt
//   outside the packet path (with M = 65537 it takes a few ms) into a second buffer and swapped in; about 1/N of its
//   entries change when one of N backends leaves or joins (minimal disruption; the return value says how many).
// - Dropped and counted (port 0): non_ipv4, malformed (version/IHL/total length, or a TCP/UDP header cut short),
//   bad_checksum (IPv4 header, verified as a router does, RFC 1812 5.2.2), not_vip (a vip is set and the packet is
//   addressed elsewhere), no_backend (every backend was removed).
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import { NfDefinition, defineNf } from './config';
import { Infer, schema } from './schema';
import { checksumReplace32, ipv4HeaderChecksumValid, udpChecksumField } from './lib/checksum';
import { FlowTable, keyedHash, parseSecret, randomSecret } from './lib/flow-table';
import { MaglevPermutation, isPrime, permutationOf, populate } from './lib/maglev';
import { configIpv4, configMac } from './lib/address';
import { TCP_CHECKSUM, TCP_MIN_HEADER as TCP_MIN, UDP_CHECKSUM, UDP_HEADER as UDP_MIN } from './lib/transport';
import { ETHERTYPE_IPV4, ETH_HEADER, ETH_TYPE, IP_CHECKSUM, IP_DST, IP_FLAGS_FRAGMENT, IP_PROTOCOL, IP_PROTO_TCP, IP_PROTO_UDP, IP_SRC, IP_TOTAL_LENGTH, ipv4HeaderLength } from './lib/packet';
import type { NetworkFunction, NfContext } from './network-function';

export interface LbBackend {
  /** Unique name: its Maglev permutation derives from it, so a backend keeps its entries across restarts. */
  name: string;
  /** Where packets for it are sent (destination MAC on port 1). */
  mac: string;
  /** NAT mode: destination IPv4 rewritten to this address (needs `vip`). Absent: DSR, the IPv4 header untouched. */
  ip?: string;
}

export interface LbConfig {
  /** Maglev lookup-table size M: a prime, well above the number of backends (the paper: M >= 100 N). */
  tableSize: number;
  /** Connections tracked at most (flow-table capacity). */
  capacity: number;
  /** A connection idle this long is forgotten (its next packet is a new connection), ns. */
  expiryNs: number;
  /** Backends at most, run-time additions included. */
  maxBackends: number;
  /** The virtual IPv4 address served; unset = every IPv4 packet from port 0 is balanced. Needed for NAT mode. */
  vip?: string;
  /**
   * Key of the flow -> table entry hash, 32 hex digits (128 bits); LBs that must agree on backends share it. Unset
   * (and no `seed`): a random key per process.
   */
  secret?: string;
  /** A 32-bit key instead of `secret` (weaker: 2^32 keys can be tried offline). */
  seed?: number;
  backends: LbBackend[];
}

export const LB_DEFAULTS: LbConfig = {
  tableSize: 65_537, // the paper's "small" table size
  capacity: 65_536,
  expiryNs: 10_000_000_000,
  maxBackends: 256,
  backends: [
    { name: 'backend-1', mac: '02:00:00:00:01:01' },
    { name: 'backend-2', mac: '02:00:00:00:01:02' },
    { name: 'backend-3', mac: '02:00:00:00:01:03' },
  ],
};

export interface LbBackendStatus extends LbBackend {
  /** Lookup-table entries it holds now. */
  entries: number;
  /** Packets sent to it since it was added. */
  packets: number;
}

export interface LoadBalancer extends NetworkFunction {
  /** Add a backend and rebuild the table; returns the number of table entries that changed owner. */
  addBackend(backend: LbBackend): number;
  /** Remove a backend by name and rebuild the table; returns the number of table entries that changed owner. */
  removeBackend(name: string): number;
  /** The live backends, sorted by name. */
  backends(): LbBackendStatus[];
  /** The lookup table as backend names (null: no backend), for tests and diagnostics. */
  lookupTable(): (string | null)[];
  /** The table size M. */
  readonly tableSize: number;
}

/** Largest table: entries are Int32 and population takes O(M log M). */
export const LB_MAX_TABLE_SIZE = 1 << 24;

/** Four secret words for keyedHash derived from a 32-bit seed (a fixed expansion, the same in every process). */
export function seedSecret(seed: number): Uint32Array {
  const out = new Uint32Array(4);
  let h = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return out;
}

/** The key of the backend-choice hash: `secret`, else `seed`, else random (per process, never shared). */
export function lbSecret(config: Pick<LbConfig, 'secret' | 'seed'>): Uint32Array {
  if (config.secret !== undefined) {
    const s = parseSecret(config.secret);
    if (s === null) throw new TinyNfError(`lb config: 'secret' must be 32 hex digits (128 bits), got ${JSON.stringify(config.secret)}`);
    return s;
  }
  if (config.seed !== undefined) return seedSecret(config.seed);
  return randomSecret();
}

export function createLb(config: LbConfig, ctx: NfContext): LoadBalancer {
  if (ctx.ports !== 2) throw new TinyNfError(`the lb has two ports (clients 0, backends 1), got ${ctx.ports}`);
  const m = config.tableSize;
  const maxBackends = Math.min(config.maxBackends, m);
  const vip = config.vip === undefined ? -1 : parseIpv4(config.vip, 'vip');
  const selectSecret = lbSecret(config);
  const time = new Float64Array(1); // the tables' clock, set once per packet (see FlowTable.time)
  const conns = new FlowTable(config.capacity, config.expiryNs, undefined, null, time);
  const connBackend = new Uint16Array(conns.capacity);
  const connGeneration = new Uint32Array(conns.capacity);

  // Backend slots 0..maxBackends-1 (a removed backend's slot is reused by a later addition; its generation changes
  // so connections tracked to the old one are re-assigned).
  const alive = new Uint8Array(maxBackends);
  const generation = new Uint32Array(maxBackends);
  const macs = new Uint8Array(maxBackends * 6);
  const backendIp = new Uint32Array(maxBackends); // 0 = DSR
  const packets = new Float64Array(maxBackends);
  const info: (LbBackend | null)[] = new Array(maxBackends).fill(null);
  const slotByName = new Map<string, number>();
  // NAT-mode backend addresses, for the reply path: IPv4 -> slot
  const natIps = new FlowTable(maxBackends, Number.POSITIVE_INFINITY, undefined, null, time);
  const natIpSlot = new Uint16Array(natIps.capacity);
  let natBackends = 0;

  let table = new Int32Array(m).fill(-1);
  let spare = new Int32Array(m);
  const scratch = new Float64Array(maxBackends);
  const clock = ctx.clock;

  const c = {
    // clients -> backends
    new_connections: 0,
    tracked: 0,
    rerouted: 0,
    table_full: 0,
    non_ipv4: 0,
    malformed: 0,
    bad_checksum: 0,
    not_vip: 0,
    no_backend: 0,
    // backends -> clients
    replies: 0,
    replies_translated: 0,
  };

  /** Rebuild the lookup table from the live backends (sorted by name); returns the entries whose owner changed. */
  const rebuild = (): number => {
    const names = [...slotByName.keys()].sort();
    const perms: MaglevPermutation[] = names.map((n) => permutationOf(n, m));
    populate(perms, spare, scratch);
    const slotOfSorted = names.map((n) => slotByName.get(n)!);
    let changed = 0;
    for (let e = 0; e < m; e++) {
      const s = spare[e] < 0 ? -1 : slotOfSorted[spare[e]];
      spare[e] = s;
      if (s !== table[e]) changed++;
    }
    const old = table;
    table = spare;
    spare = old;
    return changed;
  };

  const add = (raw: unknown, where: string, thenRebuild: boolean): number => {
    const b = parseBackend(raw, where);
    if (slotByName.has(b.name)) throw new TinyNfError(`lb: backend '${b.name}' already exists`);
    if (b.ip !== undefined && vip < 0) throw new TinyNfError(`lb: backend '${b.name}' has an ip (NAT mode): set vip, the address its replies are rewritten to`);
    let slot = -1;
    for (let s = 0; s < maxBackends; s++) {
      if (alive[s] === 0) {
        slot = s;
        break;
      }
    }
    if (slot < 0) throw new TinyNfError(`lb: at most ${maxBackends} backends (maxBackends, and no more than tableSize)`);
    const ip = b.ip === undefined ? 0 : parseIpv4(b.ip, `${where}.ip`);
    if (ip !== 0) {
      if (natIps.find(ip | 0, 0, 0, 0) >= 0) throw new TinyNfError(`lb: backend '${b.name}' has the ip ${b.ip} of another backend`);
      natIpSlot[natIps.findOrInsert(ip | 0, 0, 0, 0)] = slot;
      natBackends++;
    }
    macs.set(parseMac(b.mac, `${where}.mac`), slot * 6);
    backendIp[slot] = ip;
    packets[slot] = 0;
    alive[slot] = 1;
    info[slot] = { ...b };
    slotByName.set(b.name, slot);
    return thenRebuild ? rebuild() : 0;
  };

  const remove = (name: string): number => {
    const slot = slotByName.get(name);
    if (slot === undefined) throw new TinyNfError(`lb: no backend named '${String(name)}'`);
    slotByName.delete(name);
    alive[slot] = 0;
    generation[slot]++;
    info[slot] = null;
    if (backendIp[slot] !== 0) {
      natIps.remove(natIps.find(backendIp[slot] | 0, 0, 0, 0));
      natBackends--;
      backendIp[slot] = 0;
    }
    return rebuild();
  };

  for (let i = 0; i < config.backends.length; i++) add(config.backends[i], `backends[${i}]`, false);
  rebuild();

  /** Send to backend `b`: rewrite the destination MAC (and in NAT mode the destination IPv4 address). */
  const toBackend = (packet: Uint8Array, data: DataView, b: number, l4Checksum: number, length: number, outputs: Uint8Array): number => {
    const at = b * 6;
    packet[0] = macs[at];
    packet[1] = macs[at + 1];
    packet[2] = macs[at + 2];
    packet[3] = macs[at + 3];
    packet[4] = macs[at + 4];
    packet[5] = macs[at + 5];
    const ip = backendIp[b];
    if (ip !== 0) rewriteAddress(data, IP_DST, ip | 0, l4Checksum); // int32: never a boxed double
    packets[b]++;
    outputs[0] = 1;
    return length;
  };

  const fromClients: PacketHandler = (packet, data, length, outputs) => {
    time[0] = clock.nowNs();
    conns.tick(); // the clock-paced sweep of idle entries
    if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.non_ipv4++;
      return 0;
    }
    const ihl = ipv4HeaderLength(data, length);
    if (ihl === 0) {
      c.malformed++;
      return 0;
    }
    if (!ipv4HeaderChecksumValid(data, ETH_HEADER, ihl)) {
      c.bad_checksum++;
      return 0;
    }
    const dst = data.getUint32(IP_DST);
    if (vip >= 0 && dst !== vip) {
      c.not_vip++;
      return 0;
    }
    const src = data.getUint32(IP_SRC);
    const proto = data.getUint8(IP_PROTOCOL);
    const l4 = ETH_HEADER + ihl;
    let ports = 0;
    let l4Checksum = -1; // offset of the TCP/UDP checksum to update in NAT mode, -1 = none
    const fragment = (data.getUint16(IP_FLAGS_FRAGMENT) & 0x3fff) !== 0;
    if (proto === IP_PROTO_TCP || proto === IP_PROTO_UDP) {
      const l4Length = data.getUint16(IP_TOTAL_LENGTH) - ihl;
      const offset = data.getUint16(IP_FLAGS_FRAGMENT) & 0x1fff;
      if (offset === 0) {
        // unfragmented, or the first fragment: the TCP/UDP header must be there
        if (l4Length < (proto === IP_PROTO_TCP ? TCP_MIN : UDP_MIN)) {
          c.malformed++;
          return 0;
        }
        l4Checksum = l4 + (proto === IP_PROTO_TCP ? TCP_CHECKSUM : UDP_CHECKSUM);
        if (proto === IP_PROTO_UDP && data.getUint16(l4Checksum) === 0) l4Checksum = -1; // no UDP checksum: stays 0
        if (!fragment) ports = data.getUint32(l4);
      }
    }
    let b: number;
    // keys as int32 (`| 0`): a uint32 above 2^31 passed to a function V8 does not inline would be a boxed double
    const slot = conns.findOrInsert(src | 0, dst | 0, ports | 0, proto, true);
    if (slot >= 0 && !conns.isNew) {
      b = connBackend[slot];
      if (alive[b] !== 0 && generation[b] === connGeneration[slot]) {
        c.tracked++;
        return toBackend(packet, data, b, l4Checksum, length, outputs);
      }
      c.rerouted++; // its backend was removed
    }
    b = table[(keyedHash(src | 0, dst | 0, ports | 0, proto, selectSecret) >>> 0) % m];
    if (b < 0) {
      if (slot >= 0) conns.remove(slot);
      c.no_backend++;
      return 0;
    }
    if (slot >= 0) {
      connBackend[slot] = b;
      connGeneration[slot] = generation[b];
      if (conns.isNew) c.new_connections++;
    } else {
      c.table_full++; // forwarded by the table alone
    }
    return toBackend(packet, data, b, l4Checksum, length, outputs);
  };

  const fromBackends: PacketHandler = (_packet, data, length, outputs) => {
    outputs[0] = 1;
    if (natBackends === 0 || length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.replies++;
      return length;
    }
    const ihl = ipv4HeaderLength(data, length);
    // only well-formed IPv4 with a correct header checksum is rewritten; anything else passes as it came
    if (ihl === 0 || !ipv4HeaderChecksumValid(data, ETH_HEADER, ihl) || natIps.find(data.getInt32(IP_SRC), 0, 0, 0) < 0) {
      c.replies++;
      return length;
    }
    const proto = data.getUint8(IP_PROTOCOL);
    const l4 = ETH_HEADER + ihl;
    let l4Checksum = -1;
    if ((proto === IP_PROTO_TCP || proto === IP_PROTO_UDP) && (data.getUint16(IP_FLAGS_FRAGMENT) & 0x1fff) === 0) {
      const l4Length = data.getUint16(IP_TOTAL_LENGTH) - ihl;
      if (l4Length >= (proto === IP_PROTO_TCP ? TCP_MIN : UDP_MIN)) {
        l4Checksum = l4 + (proto === IP_PROTO_TCP ? TCP_CHECKSUM : UDP_CHECKSUM);
        if (proto === IP_PROTO_UDP && data.getUint16(l4Checksum) === 0) l4Checksum = -1;
      }
    }
    rewriteAddress(data, IP_SRC, vip | 0, l4Checksum);
    c.replies_translated++;
    return length;
  };

  return {
    name: 'lb',
    tableSize: m,
    outputPorts: [[1], [0]],
    handlers: [fromClients, fromBackends],
    counters: () => ({ ...c, connections: conns.size, backends: slotByName.size }),
    addBackend: (backend) => add(backend, 'backend', true),
    removeBackend: (name) => remove(name),
    backends: () => {
      const entries = new Float64Array(maxBackends);
      for (let e = 0; e < m; e++) if (table[e] >= 0) entries[table[e]]++;
      return [...slotByName.keys()].sort().map((n) => {
        const s = slotByName.get(n)!;
        return { ...info[s]!, entries: entries[s], packets: packets[s] };
      });
    },
    lookupTable: () => Array.from(table, (s) => (s < 0 ? null : info[s]!.name)),
  };
}

/**
 * Replace the IPv4 address at `field` (IP_SRC or IP_DST) with `address`, updating the IPv4 header checksum and, if
 * `l4Checksum` >= 0, the TCP/UDP checksum at that offset (the address is in its pseudo-header). RFC 1624 eqn. 3.
 */
function rewriteAddress(data: DataView, field: number, address: number, l4Checksum: number): void {
  const old = data.getUint32(field);
  data.setUint32(field, address);
  data.setUint16(IP_CHECKSUM, checksumReplace32(data.getUint16(IP_CHECKSUM), old | 0, address | 0));
  if (l4Checksum >= 0) {
    const updated = checksumReplace32(data.getUint16(l4Checksum), old | 0, address | 0);
    data.setUint16(l4Checksum, data.getUint8(IP_PROTOCOL) === IP_PROTO_UDP ? udpChecksumField(updated) : updated);
  }
}

// ---- configuration ----

function parseIpv4(text: unknown, field: string): number {
  const v = configIpv4(text, `lb config: ${field}`);
  if (v === 0) throw new TinyNfError(`lb config: ${field} must not be 0.0.0.0`);
  return v;
}

function parseMac(text: unknown, field: string): Uint8Array {
  const mac = configMac(text, `lb config: ${field}`);
  if ((mac[0] & 1) !== 0 || mac.every((x) => x === 0)) throw new TinyNfError(`lb config: ${field} ${text} must be a unicast, non-zero MAC address`);
  return mac;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const BACKEND_FIELDS = ['name', 'mac', 'ip'];

function parseBackend(raw: unknown, where: string): LbBackend {
  if (!isObject(raw)) throw new TinyNfError(`lb config: ${where} must be an object { name, mac [, ip] }`);
  for (const k of Object.keys(raw)) {
    if (!BACKEND_FIELDS.includes(k)) throw new TinyNfError(`lb config: unknown field '${where}.${k}' (known: ${BACKEND_FIELDS.join(', ')})`);
  }
  if (typeof raw.name !== 'string' || raw.name.length === 0) throw new TinyNfError(`lb config: ${where}.name must be a non-empty string`);
  parseMac(raw.mac, `${where}.mac`);
  const b: LbBackend = { name: raw.name, mac: raw.mac as string };
  if (raw.ip !== undefined) {
    parseIpv4(raw.ip, `${where}.ip`);
    b.ip = raw.ip as string;
  }
  return b;
}

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TinyNfError(`lb config: '${field}' must be a whole number ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

const CONFIG_FIELDS = ['tableSize', 'capacity', 'expiryNs', 'maxBackends', 'vip', 'secret', 'seed', 'backends'];

export function parseLbConfig(raw: unknown): LbConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) throw new TinyNfError('lb config must be a JSON object');
  for (const k of Object.keys(raw)) {
    if (!CONFIG_FIELDS.includes(k)) throw new TinyNfError(`lb config: unknown field '${k}' (known: ${CONFIG_FIELDS.join(', ')})`);
  }
  const merged: Record<string, unknown> = { ...LB_DEFAULTS, ...raw };
  const tableSize = wholeNumber(merged.tableSize, 'tableSize', 2, LB_MAX_TABLE_SIZE);
  if (!isPrime(tableSize)) throw new TinyNfError(`lb config: 'tableSize' must be a prime (Maglev permutations need it), got ${tableSize}`);
  const capacity = wholeNumber(merged.capacity, 'capacity', 1, 1 << 24);
  const expiryNs = merged.expiryNs;
  if (typeof expiryNs !== 'number' || !Number.isFinite(expiryNs) || expiryNs <= 0) {
    throw new TinyNfError(`lb config: 'expiryNs' must be a positive number, got ${JSON.stringify(expiryNs)}`);
  }
  const maxBackends = wholeNumber(merged.maxBackends, 'maxBackends', 1, 65_535);
  const seed = merged.seed === undefined ? undefined : wholeNumber(merged.seed, 'seed', 0, 0xffffffff);
  const secret = merged.secret;
  if (secret !== undefined && (typeof secret !== 'string' || parseSecret(secret) === null)) {
    throw new TinyNfError(`lb config: 'secret' must be a string of 32 hex digits (128 bits), got ${JSON.stringify(secret)}`);
  }
  if (secret !== undefined && seed !== undefined) throw new TinyNfError(`lb config: give 'secret' or 'seed', not both`);
  let vip: string | undefined;
  if (merged.vip !== undefined) {
    parseIpv4(merged.vip, 'vip');
    vip = merged.vip as string;
  }
  if (!Array.isArray(merged.backends)) throw new TinyNfError(`lb config: 'backends' must be an array of { name, mac [, ip] }`);
  const list = merged.backends as unknown[];
  if (list.length === 0) throw new TinyNfError(`lb config: 'backends' is empty: the lb needs at least one backend`);
  const limit = Math.min(maxBackends, tableSize);
  if (list.length > limit) throw new TinyNfError(`lb config: ${list.length} backends exceed ${limit} (maxBackends, and at most tableSize)`);
  const names = new Set<string>();
  const ips = new Set<string>();
  const backends = list.map((e, i) => {
    const b = parseBackend(e, `backends[${i}]`);
    if (names.has(b.name)) throw new TinyNfError(`lb config: backends[${i}].name '${b.name}' appears twice`);
    names.add(b.name);
    if (b.ip !== undefined) {
      if (vip === undefined) throw new TinyNfError(`lb config: backends[${i}] has an ip (NAT mode): set vip, the address its replies are rewritten to`);
      if (ips.has(b.ip)) throw new TinyNfError(`lb config: backends[${i}].ip ${b.ip} appears twice`);
      ips.add(b.ip);
    }
    return b;
  });
  const config: LbConfig = { tableSize, capacity, expiryNs, maxBackends, backends };
  if (vip !== undefined) config.vip = vip;
  if (secret !== undefined) config.secret = secret as string;
  if (seed !== undefined) config.seed = seed;
  return config;
}

const LB_CONFIG = schema.object({
  tableSize: schema.integer({ min: 2, max: LB_MAX_TABLE_SIZE, default: LB_DEFAULTS.tableSize, describe: 'Maglev lookup-table size (a prime; 65537)' }),
  capacity: schema.integer({ min: 1, max: 1 << 24, default: LB_DEFAULTS.capacity, describe: 'connections tracked at most' }),
  expiryNs: schema.number({ positive: true, default: LB_DEFAULTS.expiryNs, describe: 'forget connections idle this long (ns)' }),
  maxBackends: schema.integer({ min: 1, max: 65_535, default: LB_DEFAULTS.maxBackends, describe: 'backends at most (run-time additions included)' }),
  // kept in text form (LbConfig.vip); validated by parseLbConfig
  vip: schema.optional(schema.string({ describe: 'virtual IPv4 address served (others dropped); needed for NAT-mode backends' })),
  secret: schema.optional(schema.string({ describe: 'key of the flow hash, 32 hex digits (LBs that must agree share it; default: random per process)' })),
  seed: schema.optional(schema.integer({ min: 0, max: 0xffffffff, describe: 'a 32-bit key of the flow hash instead of --secret (weaker)' })),
  backends: schema.custom('list of { name, mac [, ip] }', (raw) => raw, { default: LB_DEFAULTS.backends, describe: 'the backends (NAT mode when they have an ip)' }),
});

export const LB_DEFINITION: NfDefinition<LbConfig> = defineNf({
  name: 'lb',
  description: 'Maglev load balancer: clients on port 0, backends behind port 1 (dst MAC rewritten), connection tracking, runtime backend changes',
  config: LB_CONFIG,
  // the schema checks each field's type; parseLbConfig the backends' structure and the relations between fields
  check: (c) => parseLbConfig(c) as unknown as Infer<typeof LB_CONFIG>,
  create: (c, ctx) => createLb(c as unknown as LbConfig, ctx),
  capacity: (c) => c.capacity,
}) as unknown as NfDefinition<LbConfig>;
