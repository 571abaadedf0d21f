// A rig that measures what the driver and an NF allocate per packet in steady state: the real driver (any model) on
// the inline in-memory 82599 through Testbed, the NF's handlers as `tinynf run` gives them (a CoarseClock refreshed
// once per round). Only the polls are measured: V8's used heap size is read right before and right after each
// round's polls (the simulator, which allocates as it pleases, runs between them), the constant cost of one read is
// subtracted, and a round during which a garbage collection ran (the heap shrank) is left out and counted.
//
// Traffic (wires written here, allocation-free and fast, so the run is dominated by the simulated NICs): LAN frames
// at LAN_MPPS (UDP; a flow of a working set, or a brand-new flow every NEW_EVERY packets, so inserts, expiry and the
// sweep run all the time), and every frame the NF sends to WAN comes back from WAN "reflected" (addresses and ports
// swapped): replies of established flows — NAT mappings, firewall flows, lb connections, bridge MACs, policed
// destinations, VXLAN decapsulation for the tunnel.
import { execFileSync } from 'child_process';
import * as v8 from 'v8';
import { nfDefinition } from '../../src/nf';
import { CoarseClock } from '../../src/nf/lib/coarse-clock';
import type { NetworkFunction } from '../../src/nf/network-function';
import type { WireInput, WireOutput } from '../../src/sim/wire';
import { DriverModel, Testbed } from '../../src/app/testbed';

const LAN_MPPS = 6;
const ROUND_NS = 32_000;
const WORKING_SET = 1000;
const NEW_EVERY = 8;
/**
 * Added to the simulated time the NF sees: real clocks read far beyond 2^31 ns (a double, not a small integer, for
 * V8), and a double passed to or returned from a function that is not inlined is boxed: this makes such boxing show.
 */
const CLOCK_BASE_NS = 1.7e18;
const LAN = 0;
const WAN = 1;

export interface AllocationResult {
  packets: number;
  /** Bytes allocated by the measured polls, the cost of the reads subtracted. */
  bytes: number;
  rounds: number;
  /** Rounds left out because a GC ran during them. */
  gcRounds: number;
  /** Rounds that allocated at all (net of the read cost). */
  allocatingRounds: number;
  counters: Record<string, number>;
}

/** Short expiries so that entries come and go during the run (sim time). */
const CONFIGS: Record<string, unknown> = {
  policer: { expiryNs: 1_000_000, rate: 10_000_000, burst: 2_000, maxFlowsPerSource: 64 },
  nat: { expiryNs: 1_000_000, maxPortsPerHost: 64 },
  firewall: { expiryNs: 1_000_000, maxFlowsPerSource: 64 },
  bridge: { expiryNs: 1_000_000 },
  lb: { expiryNs: 1_000_000 },
};

/**
 * V8's used heap size into `into[i]`, read so that the reading allocates nothing on the JS heap: Node's internal v8
 * binding fills a preallocated Float64Array (what v8.getHeapStatistics() does before it builds its result object,
 * which would allocate inside the measured window). Falls back to getHeapStatistics() if the binding is absent; the
 * constant cost is then measured by readCost() and subtracted. Stored, not returned: a returned double may or may
 * not be boxed depending on inlining.
 */
interface V8Binding {
  updateHeapStatisticsBuffer(): void;
  heapStatisticsBuffer: Float64Array;
  kUsedHeapSizeIndex: number;
}
const binding: V8Binding | null = (() => {
  try {
    const b = (process as unknown as { binding(name: string): V8Binding }).binding('v8');
    return typeof b.updateHeapStatisticsBuffer === 'function' && b.heapStatisticsBuffer instanceof Float64Array ? b : null;
  } catch {
    return null;
  }
})();
function readHeap(into: Float64Array, i: number): void {
  if (binding !== null) {
    binding.updateHeapStatisticsBuffer();
    into[i] = binding.heapStatisticsBuffer[binding.kUsedHeapSizeIndex];
  } else {
    into[i] = v8.getHeapStatistics().used_heap_size;
  }
}
const heap = new Float64Array(2);

/** What one readHeap() call itself allocates, as seen by the next one (the smallest of many). */
function readCost(): number {
  let best = Infinity;
  for (let i = 0; i < 200; i++) {
    readHeap(heap, 0);
    readHeap(heap, 1);
    const d = heap[1] - heap[0];
    if (d >= 0 && d < best) best = d;
  }
  return best;
}

function ipChecksum(f: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** LAN traffic: flow n % WORKING_SET, or a new flow every NEW_EVERY frames; source MAC, address and port per flow. */
class LanInput implements WireInput {
  private readonly frame = new Uint8Array(60);
  private readonly view = new DataView(this.frame.buffer);
  private nextDueNs = -1;
  sent = 0;
  private newFlows = 0;

  constructor() {
    // 02:00:00:00:00:02 <- 02:00:xx:xx:xx:xx, IPv4 UDP 192.168.x.x:port -> 10.1.0.1:80
    const f = this.frame;
    const v = this.view;
    f.set([2, 0, 0, 0, 0, 2], 0);
    f.set([2, 0, 0, 0, 0, 1], 6);
    v.setUint16(12, 0x0800);
    v.setUint8(14, 0x45);
    v.setUint16(16, 46);
    v.setUint8(22, 64);
    v.setUint8(23, 17);
    v.setUint32(30, 0x0a010001);
    v.setUint16(36, 80);
    v.setUint16(38, 26);
  }

  next(into: Uint8Array, nowNs: number): number {
    if (this.nextDueNs < 0) this.nextDueNs = nowNs;
    if (nowNs < this.nextDueNs) return 0;
    this.nextDueNs += 1000 / LAN_MPPS;
    const n = this.sent++;
    const flow = n % NEW_EVERY === 0 ? WORKING_SET + this.newFlows++ : n % WORKING_SET;
    const f = this.frame;
    const v = this.view;
    v.setUint32(8, (flow + 1) >>> 0); // source MAC 02:00:xx:xx:xx:xx (unicast, not zero)
    v.setUint32(26, (0xc0a80000 | (flow & 0xffff)) >>> 0); // 192.168.x.x: above 2^31, as a double would be
    v.setUint16(34, 1024 + ((flow >>> 16) & 0x3fff));
    v.setUint16(24, 0);
    v.setUint16(24, ipChecksum(f, 14, 34));
    into.set(f);
    return f.length;
  }
}

/** WAN's wire: what the NF sends to WAN comes back reflected (a ring of copies; full = dropped). */
class Reflector implements WireInput, WireOutput {
  private static readonly SLOTS = 4096;
  private readonly ring = new Uint8Array(Reflector.SLOTS * 2048);
  private readonly lengths = new Int32Array(Reflector.SLOTS);
  private head = 0;
  private tail = 0;

  frame(frame: Uint8Array, length: number): void {
    if (this.tail - this.head === Reflector.SLOTS) return;
    const slot = this.tail++ % Reflector.SLOTS;
    this.ring.set(frame.subarray(0, length), slot * 2048);
    this.lengths[slot] = length;
  }

  next(into: Uint8Array): number {
    if (this.head === this.tail) return 0;
    const slot = this.head++ % Reflector.SLOTS;
    const length = this.lengths[slot];
    const out = this.ring.subarray(slot * 2048, slot * 2048 + length);
    into.set(out);
    into.set(out.subarray(6, 12), 0);
    into.set(out.subarray(0, 6), 6);
    if (length >= 38 && into[12] === 0x08 && into[13] === 0x00) {
      into.set(out.subarray(30, 34), 26);
      into.set(out.subarray(26, 30), 30);
      const l4 = 14 + (into[14] & 0x0f) * 4;
      if ((into[23] === 17 || into[23] === 6) && l4 + 4 <= length) {
        into[l4] = out[l4 + 2];
        into[l4 + 1] = out[l4 + 3];
        into[l4 + 2] = out[l4];
        into[l4 + 3] = out[l4 + 1];
        // a VXLAN encapsulation (the tunnel's) comes back to the VXLAN port (its UDP checksum is 0: stays right)
        if (into[23] === 17 && ((out[l4 + 2] << 8) | out[l4 + 3]) === 4789) {
          into[l4] = out[l4];
          into[l4 + 1] = out[l4 + 1];
          into[l4 + 2] = 4789 >> 8;
          into[l4 + 3] = 4789 & 0xff;
        }
      }
    }
    return length;
  }
}

/** Discards what the NF sends to LAN. */
class Sink implements WireOutput {
  frames = 0;
  frame(): void {
    this.frames++;
  }
}

export class AllocationRig {
  readonly tb: Testbed;
  readonly nf: NetworkFunction;
  private readonly clock: CoarseClock;

  constructor(
    readonly nfName: string,
    readonly model: DriverModel,
  ) {
    this.tb = Testbed.create({ ports: 2, model });
    const def = nfDefinition(nfName);
    this.clock = new CoarseClock(this.tb.env);
    this.nf = def.create(def.parseConfig(CONFIGS[nfName]), { clock: this.clock, ports: 2 });
    this.tb.attach(this.nf);
    const reflector = new Reflector();
    this.tb.machine.nic(LAN).detachOutputs(); // the Testbed's collecting outputs keep every frame
    this.tb.machine.nic(WAN).detachOutputs();
    this.tb.machine.nic(LAN).attachInput(new LanInput());
    this.tb.machine.nic(LAN).attachOutput(new Sink());
    this.tb.machine.nic(WAN).attachInput(reflector);
    this.tb.machine.nic(WAN).attachOutput(reflector);
  }

  /** Run until `packets` packets (both ways) were handled; measure the polls if `measure`. */
  run(packets: number, measure: boolean): AllocationResult {
    const tb = this.tb;
    const forwarders = tb.forwarders;
    const handlers = this.nf.handlers;
    const cost = readCost();
    let bytes = 0;
    let rounds = 0;
    let gcRounds = 0;
    let allocatingRounds = 0;
    let measured = 0;
    while (measured < packets) {
      tb.advanceTimeNs(ROUND_NS);
      this.clock.set(tb.machine.nowNs() + CLOCK_BASE_NS);
      // ---- measured: the polls only ----
      readHeap(heap, 0);
      let processed = 0;
      for (let p = 0; p < forwarders.length; p++) {
        const f = forwarders[p];
        if (f !== null) processed += f.poll(handlers[p]);
      }
      readHeap(heap, 1);
      const before = heap[0];
      const after = heap[1];
      // ----
      measured += processed;
      if (!measure) continue;
      rounds++;
      if (after < before) {
        gcRounds++;
        continue;
      }
      const net = after - before - cost;
      if (net > 0) {
        bytes += net;
        allocatingRounds++;
      }
    }
    return { packets: measured, bytes, rounds, gcRounds, allocatingRounds, counters: this.nf.counters() };
  }
}

/** Every registered NF. */
export const ALL_NFS = ['nop', 'macrewrite', 'maclookup', 'policer', 'tunnel', 'nat', 'firewall', 'bridge', 'lb'];
/** Packets before measuring: the JIT has optimised everything on the packet path by then. */
export const WARM_UP_PACKETS = 300_000;
export const MEASURED_PACKETS = 1_000_000;
/** Extra warm-up chunks (of WARM_UP_PACKETS / 3) allowed until one shows no allocation. */
export const WARM_UP_CHUNKS = 8;
/**
 * What may allocate over the measured 10^6 packets: late one-off JIT events (code installed, feedback) land in a few
 * rounds (seen: up to 6 of ~2600, up to 190 KB, the first NF of a process on a loaded machine). An allocation per
 * packet, even on a path one packet in 10^4 takes, allocates in over 1% of the rounds (a round is ~400 packets) and
 * fails; so does anything allocated once per round (per poll).
 */
export const MAX_ALLOCATING_ROUND_SHARE = 0.01;
export const MAX_BYTES_PER_PACKET = 1;

/** Warm up and measure one NF on one model in this process (a fresh one: see zeroAllocationSuite). */
export function measureAllocation(nf: string, model: DriverModel): AllocationResult & { txPackets: number[]; warmUpChunks: number } {
  const rig = new AllocationRig(nf, model);
  rig.run(WARM_UP_PACKETS, false);
  // On a loaded machine the optimising compiler (a background thread) may finish late, and code not yet optimised
  // allocates: warm up in chunks until one is quiet (at most WARM_UP_CHUNKS more; an allocation that is really per
  // packet never gets quiet, and the measurement below fails).
  let chunks = 0;
  while (chunks < WARM_UP_CHUNKS) {
    chunks++;
    const w = rig.run(WARM_UP_PACKETS / 3, true);
    if (w.allocatingRounds <= w.rounds * MAX_ALLOCATING_ROUND_SHARE) break;
  }
  const r = rig.run(MEASURED_PACKETS, true);
  return { ...r, txPackets: rig.tb.nicStats().map((s) => s.txPackets), warmUpChunks: chunks };
}

/**
 * The jest body shared by the per-model test files. Each NF x model runs in a fresh Node process (as `tinynf run`
 * and the benchmark rows do): JIT feedback from other NFs in the same process (a handler call site that has seen
 * several NFs is megamorphic) would change what is inlined, and so what is boxed, which no deployment sees.
 */
export function zeroAllocationSuite(model: DriverModel): void {
  describe(`zero allocation per packet in steady state (${model} model)`, () => {
    it.each(ALL_NFS)('%s', (nf) => {
      const once = (): ReturnType<typeof measureAllocation> => {
        const out = execFileSync(process.execPath, [__filename, nf, model], { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
        return JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof measureAllocation>;
      };
      const quiet = (x: AllocationResult): boolean => x.allocatingRounds <= x.rounds * MAX_ALLOCATING_ROUND_SHARE && x.bytes <= x.packets * MAX_BYTES_PER_PACKET;
      // Two attempts, each a fresh process: what the optimising compiler decides depends on timing (it runs on a
      // background thread). Seen: 64 B per poll round, lb and firewall, in ~1 of 15 processes on a loaded machine,
      // twice in a row once (CI, 2026-12-03): the flow table's sweep, called once per round, left in baseline code
      // after two deoptimisations; tick() now calls it at every packet (flow-table.test.ts checks it
      // deterministically). An allocation per packet fails both attempts.
      let r = once();
      if (!quiet(r)) r = once();
      const summary = `${nf}/${model}: ${r.bytes} B in ${r.allocatingRounds} of ${r.rounds} rounds (${r.gcRounds} with a GC left out) over ${r.packets} packets, after ${r.warmUpChunks} warm-up chunks`;
      expect(r.packets).toBeGreaterThanOrEqual(MEASURED_PACKETS);
      expect(r.gcRounds).toBeLessThan(r.rounds / 100); // GCs in the polls would mean the polls allocate
      expect({ summary, ok: quiet(r) }).toEqual({ summary, ok: true });
      // the traffic did what it is meant to: the NF sent packets both ways (the policer polices most of WAN's)
      expect(r.txPackets[0]).toBeGreaterThan(MEASURED_PACKETS / 100);
      expect(r.txPackets[1]).toBeGreaterThan(MEASURED_PACKETS / 4);
    }, 240_000);
  });
}

// `node alloc-rig.js <nf> <model>`: one measurement, printed as JSON on the last line.
if (require.main === module) {
  const [nf, model] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(measureAllocation(nf, model as DriverModel)) + '\n');
}
