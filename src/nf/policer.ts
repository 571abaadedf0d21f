// The policer (after Vigor's vigpol): traffic from WAN (port 1) to LAN (port 0) is limited per destination IPv4
// address by a token bucket of `rate` bytes/s and `burst` bytes; LAN -> WAN passes untouched.
// - Non-IPv4 (or malformed IPv4) from WAN is dropped (counted: non_ipv4 / malformed).
// - A new destination whose first packet is larger than the burst is dropped (new_flow_too_large) and not tracked.
// - Destinations idle for `expiryNs` are forgotten; a full table drops new destinations (table_full).
// Bytes are counted as the frame length without FCS, as TinyNF's Vigor port does.
import { TinyNfError } from '../env/environment';
import type { PacketHandler } from '../ixgbe/handler';
import { FlowTable } from './lib/flow-table';
import { ETHERTYPE_IPV4, ETH_HEADER, ETH_TYPE, IP_DST, IP_SRC, ipv4HeaderLength } from './lib/packet';
import { QuotaLink, SourceQuota } from './lib/source-quota';
import type { NetworkFunction, NfContext } from './network-function';
import { defineNf } from './config';
import { Infer, schema } from './schema';

export const POLICER_CONFIG = schema.object({
  rate: schema.number({ positive: true, default: 1_000_000, describe: 'bytes per second per destination' }),
  burst: schema.number({ positive: true, default: 100_000, describe: 'bucket size in bytes per destination' }),
  // the flow table's limit (src/nf/lib/flow-table.ts): 2^24 slots
  capacity: schema.integer({ min: 1, max: 1 << 24, default: 65_536, describe: 'destinations tracked at most' }),
  expiryNs: schema.number({ positive: true, default: 10_000_000_000, describe: 'forget destinations idle this long (ns)' }),
  maxFlowsPerSource: schema.integer({ min: 0, max: 1 << 24, default: 0, describe: 'new destinations one WAN source address may have tracked at once (0: no limit)' }),
});

export type PolicerConfig = Infer<typeof POLICER_CONFIG>;

export const POLICER_DEFAULTS: PolicerConfig = POLICER_CONFIG.parse({}, '');

export function createPolicer(config: PolicerConfig, ctx: NfContext): NetworkFunction {
  if (ctx.ports !== 2) throw new TinyNfError(`the policer has two ports (LAN 0, WAN 1), got ${ctx.ports}`);
  const perSource = config.maxFlowsPerSource;
  const quota = perSource > 0 ? new QuotaLink(new SourceQuota(perSource, config.capacity), config.capacity) : null;
  const time = new Float64Array(1); // the table's clock, set once per packet (see FlowTable.time)
  const table = new FlowTable(config.capacity, config.expiryNs, undefined, quota === null ? null : quota.listener, time);
  const tokens = new Float64Array(table.capacity);
  const refilled = new Float64Array(table.capacity);
  const clock = ctx.clock; // cheap to read per packet: see CoarseClock
  const ratePerNs = config.rate / 1e9;
  const c = { passed: 0, policed: 0, non_ipv4: 0, malformed: 0, new_flow_too_large: 0, table_full: 0, quota_refused: 0 };

  const lanToWan: PacketHandler = (_packet, _data, length, outputs) => {
    outputs[0] = 1;
    return length;
  };

  const wanToLan: PacketHandler = (_packet, data, length, outputs) => {
    const now = clock.nowNs();
    time[0] = now;
    table.tick(); // the clock-paced sweep of idle entries
    if (length < ETH_HEADER || data.getUint16(ETH_TYPE) !== ETHERTYPE_IPV4) {
      c.non_ipv4++;
      return 0;
    }
    if (ipv4HeaderLength(data, length) === 0) {
      c.malformed++;
      return 0;
    }
    const dst = data.getInt32(IP_DST); // as int32: a uint32 above 2^31 would be a (boxed) double
    // refresh on a hit: policed packets keep the destination tracked too, or expiry would refill its bucket
    const slot = table.findOrInsert(dst, 0, 0, 0, true);
    if (slot < 0) {
      c.table_full++;
      return 0;
    }
    if (table.isNew) {
      if (quota !== null && !quota.admit(slot, data.getInt32(IP_SRC), 0, 0, 0)) {
        table.remove(slot);
        c.quota_refused++;
        return 0;
      }
      if (length > config.burst) {
        table.remove(slot);
        c.new_flow_too_large++;
        return 0;
      }
      tokens[slot] = config.burst - length;
      refilled[slot] = now;
    } else {
      const t = tokens[slot] + (now - refilled[slot]) * ratePerNs;
      refilled[slot] = now;
      if (length > (t < config.burst ? t : config.burst)) {
        tokens[slot] = t < config.burst ? t : config.burst;
        c.policed++;
        return 0;
      }
      tokens[slot] = (t < config.burst ? t : config.burst) - length;
    }
    c.passed++;
    outputs[0] = 1;
    return length;
  };

  return {
    name: 'policer',
    outputPorts: [[1], [0]],
    handlers: [lanToWan, wanToLan],
    counters: () => ({ ...c, flows: table.size }),
  };
}

export const POLICER_DEFINITION = defineNf({
  name: 'policer',
  description: 'per-destination-IPv4 token bucket on WAN (port 1) -> LAN (port 0); LAN -> WAN passes',
  config: POLICER_CONFIG,
  create: createPolicer,
  capacity: (c) => c.capacity,
  // 10 destinations (WAN traffic varies the destination) at line rate: each offers far more than the default 1 MB/s
  // (~16 kpps of 60-byte frames) and empties its 100 kB burst within the first 17k packets, so the policer
  // visibly polices (policed >> passed) even in a short run.
  traffic: (port) => ({ flows: 10, vary: port === 0 ? ['srcIp'] : ['dstIp'] }),
});
