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

export interface PolicerConfig {
  /** Sustained rate per destination, bytes per second. */
  rate: number;
  /** Bucket size per destination, bytes. */
  burst: number;
  /** Destinations tracked at most. */
  capacity: number;
  /** Idle time after which a destination is forgotten, ns. */
  expiryNs: number;
  /** New destinations one WAN source address may have tracked at most (0 = no limit). */
  maxFlowsPerSource: number;
}

export const POLICER_DEFAULTS: PolicerConfig = {
  rate: 1_000_000,
  burst: 100_000,
  capacity: 65_536,
  expiryNs: 10_000_000_000,
  maxFlowsPerSource: 0,
};

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
