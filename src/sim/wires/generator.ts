// A deterministic traffic generator: a WireInput producing Ethernet/IPv4/UDP (or TCP) frames of a number of
// flows, at a configured rate against the caller's clock (simulated or real).
//
// Frames exclude the FCS (see src/sim/wire.ts). Every frame has a valid IPv4 header checksum and a valid
// UDP/TCP checksum. Flow k is the base 5-tuple with k added to each field named in `vary` (default: the
// source IP), so flows are distinct by construction.
//
// Per frame, next() stamps a template prepared at construction (one per flow and frame size, or one header
// per flow when that would take too much memory) and, when `stamp` is on, writes a sequence number and a
// timestamp into the payload and patches the L4 checksum incrementally. No allocation per frame. Through
// nextAt (the NIC's direct receive path), frames up to WORD_COPY_MAX_BYTES going to a 4-byte aligned place are
// stamped as 32-bit words by straight-line code (copyWords): for 60-byte frames about 3x cheaper than
// TypedArray.prototype.set, whose call overhead dominates at that size.
//
// Stamp layout (when `stamp: true`), at the start of the L4 payload (byte STAMP_OFFSET_UDP = 42 for UDP,
// STAMP_OFFSET_TCP = 54 for TCP, counted from the first byte of the Ethernet header):
//   +0  float64 little-endian  sequence number: 0 for the generator's first frame, then 1, 2, ...
//   +8  float64 little-endian  timestamp in ns: when the frame was due on the wire (paced rates), or the
//                              `nowNs` of the next() call that produced it ('unlimited')
// The stamp needs 16 payload bytes: with TCP that means frames of at least 70 bytes.
import { TinyNfError } from '../../env/environment';
import type { StampingInput } from '../wire';
import { RATE_KIND_FIXED, RATE_KIND_LINE, RATE_KIND_UNLIMITED, S, SI } from '../wasm/rx-engine';
import { onesComplementFold, onesComplementSum, parseIpv4, parseMac } from './addresses';

export type FlowField = 'srcIp' | 'dstIp' | 'srcPort' | 'dstPort' | 'srcMac';
export interface FrameSizeWeight {
  size: number;
  weight: number;
}
/** One size, several sizes of equal weight, weighted sizes, or the simple IMIX (60/590/1514 B, 7:4:1). */
export type FrameSizes = number | readonly number[] | readonly FrameSizeWeight[] | 'imix';
/** Frames per µs (Mpps), 10 Gb/s line rate for the frame sizes, or as fast as the caller asks. */
export type Rate = number | 'line-rate' | 'unlimited';

/** A JSON-serialisable description of a generator (a worker thread can recreate it). */
export interface GeneratorOptions {
  /** Number of flows (default 1). */
  flows?: number;
  /** Frame length(s) without FCS, 60..9014 (default 60, i.e. 64 B on the wire). */
  frameSize?: FrameSizes;
  /** Default 'unlimited'. */
  rate?: Rate;
  /** Total number of frames, then next() returns 0 forever (default: no limit). */
  count?: number;
  /** Default 02:00:00:00:00:01 (locally administered). */
  srcMac?: string;
  /** Default 02:00:00:00:00:02. */
  dstMac?: string;
  /** Default 'udp'. */
  protocol?: 'udp' | 'tcp';
  /** Base addresses and ports of flow 0 (defaults 10.0.0.1, 10.1.0.1, 1024, 80). */
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  /** Which fields flow k adds k to (default 'srcIp'). */
  vary?: FlowField | readonly FlowField[];
  /** Which flow each frame belongs to: cycle through the flows (default) or pick with the PRNG. */
  order?: 'round-robin' | 'random';
  /** PRNG seed (default 1): drives the random flow order and the frame size mix. */
  seed?: number;
  /** Write a sequence number and timestamp into each frame's payload (default false). */
  stamp?: boolean;
  /** When frame 0 is due (default: the nowNs of the first next() call). */
  startNs?: number;
  /** IPv4 TTL (default 64). */
  ttl?: number;
  /** TCP flags byte (default 0x10, ACK). */
  tcpFlags?: number;
}

export const MIN_FRAME = 60;
export const MAX_FRAME = 9014;
export const STAMP_OFFSET_UDP = 42;
export const STAMP_OFFSET_TCP = 54;
export const STAMP_BYTES = 16;
/** 10 Gb/s = 10 bits per ns. A frame of `len` bytes (no FCS) occupies (len + 4 FCS + 8 preamble + 12 IFG) * 8 bits. */
export const LINE_RATE_BITS_PER_NS = 10;
export const WIRE_OVERHEAD_BYTES = 24;
/** Above this many template bytes, keep one header per flow and zero-fill the payload per frame. */
const FULL_TEMPLATE_BUDGET = 64 * 1024 * 1024;
/** Frames up to this length are stamped word by word (copyWords); longer ones with TypedArray.prototype.set. */
export const WORD_COPY_MAX_BYTES = 128;

const ETH_LEN = 14;
const IP_LEN = 20;
const UDP_LEN = 8;
const TCP_LEN = 20;
const L3 = ETH_LEN; // IPv4 header offset
const L4 = ETH_LEN + IP_LEN; // UDP/TCP header offset

const RATE_UNLIMITED = 0;
const RATE_MPPS = 1;
const RATE_LINE = 2;

/** Line rate at 10 Gb/s for frames of `length` bytes (no FCS), in Mpps: 14.88 for 60 B. */
export function lineRateMpps(length: number): number {
  return (LINE_RATE_BITS_PER_NS * 1000) / ((length + WIRE_OVERHEAD_BYTES) * 8);
}

/** The sequence number and timestamp of a stamped frame, or null if too short / not IPv4 UDP/TCP. */
export function readStamp(frame: Uint8Array, length: number): { seq: number; timeNs: number } | null {
  const offset = stampOffset(frame, length);
  if (offset < 0) return null;
  const view = new DataView(frame.buffer, frame.byteOffset + offset, STAMP_BYTES);
  return { seq: view.getFloat64(0, true), timeNs: view.getFloat64(8, true) };
}

/** Offset of the stamp in an IPv4 (IHL 5) UDP/TCP frame, or -1. */
export function stampOffset(frame: Uint8Array, length: number): number {
  if (length < L4 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[L3] !== 0x45) return -1;
  const proto = frame[L3 + 9];
  const offset = proto === 17 ? STAMP_OFFSET_UDP : proto === 6 ? STAMP_OFFSET_TCP : -1;
  return offset >= 0 && offset + STAMP_BYTES <= length ? offset : -1;
}

/** xorshift32 (Marsaglia 2003): small, fast, deterministic. Never zero. */
class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    // Mix the seed so small seeds (1, 2, ...) start far apart; never let the state be 0.
    let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    s ^= s >>> 13;
    this.state = s === 0 ? 0x6d2b79f5 : s | 0;
  }
  /** Uniform in [0, 2^32). */
  next(): number {
    // The state stays a signed 32-bit integer (a small integer for V8); the result is its unsigned value.
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }
}

export class TrafficGenerator implements StampingInput {
  /** The options as given (serialisable). */
  readonly options: GeneratorOptions;
  readonly flows: number;
  readonly sizes: readonly number[];
  readonly maxFrameLength: number;
  readonly stampOffset: number;

  private readonly count: number;
  private readonly rateKind: number;
  private readonly intervalNs: number;
  private startNs: number;
  private sentFrames = 0;
  private wireBits = 0;
  private nextFlow = 0;
  private readonly randomOrder: boolean;
  private readonly prng: Xorshift32;
  private readonly cumulativeWeights: Float64Array;
  private readonly totalWeight: number;
  private readonly headerLength: number;
  private readonly isUdp: boolean;
  private readonly stamp: boolean;
  /**
   * Frames of one length from whole templates, no stamp, flows in turn: that length, else 0 (StampingInput); and
   * nextAt's short path (see there): the same up to WORD_COPY_MAX_BYTES. plainWireBits: such a frame's wire bits.
   */
  private readonly stampLength: number;
  /** The state block saveStampState last wrote its constant fields into. */
  private stampedInto: Float64Array | null = null;
  private readonly plainLength: number;
  private readonly plainWireBits: number;

  // Full mode: templates[flow * sizes.length + sizeIndex] is the whole frame.
  // Header mode: templates[flow] is the header only; lengths and checksums are written per frame.
  private readonly fullTemplates: boolean;
  private readonly templates: Uint8Array[];
  /** Full mode: each template as 32-bit words (templates start 4-byte aligned), for copyWords. */
  private readonly templateWords: Int32Array[];

  /** Unfolded L4 checksum sum of each template with its checksum field zero (full mode: whole frame;
   *  header mode: pseudo-header without length + L4 header without length fields). */
  private readonly l4Sums: Float64Array;
  /** Header mode: unfolded IPv4 header sum without the total length field, per flow. */
  private readonly ipSums: Float64Array;

  private readonly scratch = new Float64Array(2);
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);

  constructor(options: GeneratorOptions = {}) {
    this.options = options;
    const flows = options.flows ?? 1;
    if (!Number.isInteger(flows) || flows < 1 || flows > 1 << 24) {
      throw new TinyNfError(`generator: flows must be an integer between 1 and ${1 << 24}, not ${flows}`);
    }
    this.flows = flows;
    const weighted = parseSizes(options.frameSize ?? MIN_FRAME);
    this.sizes = weighted.map((w) => w.size);
    this.maxFrameLength = Math.max(...this.sizes);
    this.cumulativeWeights = new Float64Array(weighted.length);
    let total = 0;
    weighted.forEach((w, i) => {
      total += w.weight;
      this.cumulativeWeights[i] = total;
    });
    this.totalWeight = total;

    const count = options.count ?? Infinity;
    if (count !== Infinity && (!Number.isInteger(count) || count < 0)) {
      throw new TinyNfError(`generator: count must be a non-negative integer, not ${count}`);
    }
    this.count = count;

    const rate = options.rate ?? 'unlimited';
    if (rate === 'unlimited') {
      this.rateKind = RATE_UNLIMITED;
      this.intervalNs = 0;
    } else if (rate === 'line-rate') {
      this.rateKind = RATE_LINE;
      this.intervalNs = 0;
    } else if (typeof rate === 'number' && rate > 0 && Number.isFinite(rate)) {
      this.rateKind = RATE_MPPS;
      this.intervalNs = 1000 / rate;
    } else {
      throw new TinyNfError(`generator: rate must be a positive number of Mpps, 'line-rate' or 'unlimited', not ${String(rate)}`);
    }
    const startNs = options.startNs;
    if (startNs !== undefined && !Number.isFinite(startNs)) {
      throw new TinyNfError(`generator: startNs must be a finite number, not ${startNs}`);
    }
    this.startNs = startNs ?? NaN;

    const order = options.order ?? 'round-robin';
    if (order !== 'round-robin' && order !== 'random') {
      throw new TinyNfError(`generator: order must be 'round-robin' or 'random', not '${String(order)}'`);
    }
    this.randomOrder = order === 'random';
    this.prng = new Xorshift32(options.seed ?? 1);

    const protocol = options.protocol ?? 'udp';
    if (protocol !== 'udp' && protocol !== 'tcp') {
      throw new TinyNfError(`generator: protocol must be 'udp' or 'tcp', not '${String(protocol)}'`);
    }
    this.isUdp = protocol === 'udp';
    this.headerLength = L4 + (this.isUdp ? UDP_LEN : TCP_LEN);
    this.stampOffset = this.headerLength;
    this.stamp = options.stamp === true;
    const minSize = Math.min(...this.sizes);
    if (this.stamp && minSize < this.headerLength + STAMP_BYTES) {
      throw new TinyNfError(
        `generator: stamped ${protocol.toUpperCase()} frames need at least ${this.headerLength + STAMP_BYTES} bytes, not ${minSize}`,
      );
    }

    const flowHeaders = buildFlowHeaders(options, flows, this.isUdp);
    const templateBytes = flows * this.sizes.reduce((a, b) => a + b, 0);
    this.fullTemplates = templateBytes <= FULL_TEMPLATE_BUDGET;
    this.templateWords = [];
    if (this.fullTemplates) {
      const memory = new ArrayBuffer(templateBytes + 3 * flows * this.sizes.length);
      this.templates = [];
      this.l4Sums = new Float64Array(flows * this.sizes.length);
      this.ipSums = new Float64Array(0);
      let at = 0;
      for (let f = 0; f < flows; f++) {
        for (let s = 0; s < this.sizes.length; s++) {
          const t = new Uint8Array(memory, at, this.sizes[s]);
          this.templateWords.push(new Int32Array(memory, at, this.sizes[s] >>> 2));
          at += (this.sizes[s] + 3) & ~3;
          t.set(flowHeaders[f]);
          this.l4Sums[this.templates.length] = finishHeaders(t, this.sizes[s], this.isUdp);
          this.templates.push(t);
        }
      }
    } else {
      this.templates = flowHeaders;
      this.l4Sums = new Float64Array(flows);
      this.ipSums = new Float64Array(flows);
      for (let f = 0; f < flows; f++) {
        const h = flowHeaders[f];
        this.ipSums[f] = onesComplementSum(h, L3, L4); // total length and checksum are still zero
        this.l4Sums[f] = pseudoHeaderSum(h) + onesComplementSum(h, L4, this.headerLength);
      }
    }
    const stampable = this.fullTemplates && this.sizes.length === 1 && !this.stamp && !this.randomOrder;
    this.stampLength = stampable ? this.sizes[0] : 0;
    this.plainLength = stampable && this.sizes[0] <= WORD_COPY_MAX_BYTES ? this.sizes[0] : 0;
    this.plainWireBits = (this.sizes[0] + WIRE_OVERHEAD_BYTES) * 8;
  }

  /** Frames produced so far. */
  get sent(): number {
    return this.sentFrames;
  }

  /** Whether the count limit has been reached. */
  get done(): boolean {
    return this.sentFrames >= this.count;
  }

  /** When the next frame is due (ns): Infinity when done, -Infinity before the first call if no startNs. */
  get nextDueNs(): number {
    if (this.sentFrames >= this.count) return Infinity;
    if (this.startNs !== this.startNs) return -Infinity;
    return this.dueNs();
  }

  next(into: Uint8Array, nowNs: number): number {
    return this.produce(into, null, 0, nowNs);
  }

  /**
   * Like next(), writing the frame at byte `at` of `bytes` (a whole buffer; `words` is the same buffer as 32-bit
   * words): the NIC's direct receive path (DirectInput in ../wire.ts), with no view per buffer.
   */
  nextAt(bytes: Uint8Array, words: Int32Array, at: number, nowNs: number): number {
    if (this.plainLength === 0 || (at & 3) !== 0 || !(this.sentFrames < this.count) || this.startNs !== this.startNs) return this.produce(bytes, words, at, nowNs);
    // The common case, in short: one frame size up to WORD_COPY_MAX_BYTES, whole templates, no stamp, flows in turn
    const length = this.plainLength;
    if (this.rateKind !== RATE_UNLIMITED && this.dueNs() > nowNs) return 0;
    const flow = this.nextFlow;
    this.nextFlow = flow + 1 === this.flows ? 0 : flow + 1;
    this.stampWords(bytes, words, at, flow, length);
    this.sentFrames++;
    this.wireBits += this.plainWireBits;
    return length;
  }

  /** StampingInput: the short path's templates (one per flow: whole frames of its one length), else null. */
  stampTemplates(): Uint8Array[] | null {
    return this.stampLength === 0 ? null : this.templates.slice(0, this.flows);
  }

  /** StampingInput: the short path's constants (as nextAt would use them) into a receive engine's state block. */
  saveStampState(state: Float64Array): boolean {
    // nextAt's conditions for its short path: the clock started (the first frame starts it), frames left
    if (this.stampLength === 0 || this.startNs !== this.startNs || !(this.sentFrames < this.count)) return false;
    if (state !== this.stampedInto) {
      // what does not change once the clock has started: written once per state block (stores to it are not free)
      this.stampedInto = state;
      state[S.flows] = this.flows;
      state[S.length] = this.stampLength;
      state[S.rateKind] = this.rateKind === RATE_LINE ? RATE_KIND_LINE : this.rateKind === RATE_MPPS ? RATE_KIND_FIXED : RATE_KIND_UNLIMITED;
      state[S.start] = this.startNs;
      state[S.interval] = this.intervalNs;
      state[S.count] = this.count;
      state[S.frameBits] = this.plainWireBits;
      state[S.lineRate] = LINE_RATE_BITS_PER_NS;
    }
    return true;
  }

  /** StampingInput: the flow of the next frame, frames produced, bits put on the wire so far. */
  get stampFlow(): number {
    return this.nextFlow;
  }
  get stampSent(): number {
    return this.sentFrames;
  }
  get stampWireBits(): number {
    return this.wireBits;
  }

  /** StampingInput: the state a burst left. */
  loadStampState(state: Float64Array, ints: Int32Array): void {
    this.nextFlow = ints[SI.nextFlow];
    this.sentFrames = state[S.sent];
    this.wireBits = state[S.wireBits];
  }

  /**
   * Like next(), but the frame is written nowhere: for a receiver that drops it anyway (a NIC without a free
   * descriptor), so that dropping costs no copy. The frames that follow are the same as after next().
   */
  skip(nowNs: number): number {
    return this.produce(null, null, 0, nowNs);
  }

  /** The next frame due at `nowNs`, written at byte `at` of `into` (nowhere if null); its length, or 0. */
  private produce(into: Uint8Array | null, words: Int32Array | null, at: number, nowNs: number): number {
    if (this.sentFrames >= this.count) return 0;
    if (this.startNs !== this.startNs) this.startNs = nowNs; // NaN: the first call starts the clock
    let timeNs = nowNs;
    if (this.rateKind !== RATE_UNLIMITED) {
      timeNs = this.dueNs();
      if (timeNs > nowNs) return 0;
    }

    let flow: number;
    if (this.randomOrder) {
      flow = Math.floor((this.prng.next() * this.flows) / 4294967296);
    } else {
      flow = this.nextFlow;
      this.nextFlow = flow + 1 === this.flows ? 0 : flow + 1;
    }
    let sizeIndex = 0;
    const nSizes = this.sizes.length;
    if (nSizes > 1) {
      const r = (this.prng.next() / 4294967296) * this.totalWeight;
      while (sizeIndex < nSizes - 1 && r >= this.cumulativeWeights[sizeIndex]) sizeIndex++;
    }
    const length = this.sizes[sizeIndex];

    if (into === null) {
      this.sentFrames++;
      this.wireBits += (length + WIRE_OVERHEAD_BYTES) * 8;
      return length;
    }
    let l4Sum: number;
    if (this.fullTemplates) {
      const t = flow * nSizes + sizeIndex;
      if (words !== null && length <= WORD_COPY_MAX_BYTES && (at & 3) === 0) {
        this.stampWords(into, words, at, t, length);
      } else {
        into.set(this.templates[t], at);
      }
      l4Sum = this.l4Sums[t];
    } else {
      l4Sum = this.writeFromHeader(into, at, flow, length);
    }
    if (this.stamp) {
      this.writeStamp(into, at, this.sentFrames, timeNs, l4Sum);
    }

    this.sentFrames++;
    this.wireBits += (length + WIRE_OVERHEAD_BYTES) * 8;
    return length;
  }

  /** Full mode: template t (`length` bytes) at byte `at` (a multiple of 4) of `bytes`, `words` the same buffer. */
  private stampWords(bytes: Uint8Array, words: Int32Array, at: number, t: number, length: number): void {
    copyWords(words, at >>> 2, this.templateWords[t], length >>> 2);
    if ((length & 3) !== 0) {
      const template = this.templates[t];
      for (let k = length & ~3; k < length; k++) bytes[at + k] = template[k];
    }
  }

  private dueNs(): number {
    if (this.rateKind === RATE_MPPS) return this.startNs + this.sentFrames * this.intervalNs;
    if (this.rateKind === RATE_LINE) return this.startNs + this.wireBits / LINE_RATE_BITS_PER_NS;
    return this.startNs;
  }

  /** Header mode: header, zero payload, lengths and IPv4 checksum at byte `o`; returns the L4 sum without stamp. */
  private writeFromHeader(into: Uint8Array, o: number, flow: number, length: number): number {
    into.set(this.templates[flow], o);
    into.fill(0, o + this.headerLength, o + length);
    const ipLength = length - ETH_LEN;
    const l4Length = ipLength - IP_LEN;
    into[o + L3 + 2] = ipLength >>> 8;
    into[o + L3 + 3] = ipLength & 0xff;
    const ipChecksum = ~onesComplementFold(this.ipSums[flow] + ipLength) & 0xffff;
    into[o + L3 + 10] = ipChecksum >>> 8;
    into[o + L3 + 11] = ipChecksum & 0xff;
    let l4Sum = this.l4Sums[flow] + l4Length; // the pseudo-header's length
    if (this.isUdp) {
      into[o + L4 + 4] = l4Length >>> 8;
      into[o + L4 + 5] = l4Length & 0xff;
      l4Sum += l4Length; // the UDP header's own length field
    }
    writeL4Checksum(into, o, this.isUdp, l4Sum);
    return l4Sum;
  }

  private writeStamp(into: Uint8Array, o: number, seq: number, timeNs: number, l4Sum: number): void {
    this.scratch[0] = seq;
    this.scratch[1] = timeNs;
    const bytes = this.scratchBytes;
    const at = o + this.stampOffset;
    let sum = l4Sum;
    for (let i = 0; i < STAMP_BYTES; i += 2) {
      const hi = bytes[i];
      const lo = bytes[i + 1];
      into[at + i] = hi;
      into[at + i + 1] = lo;
      sum += (hi << 8) | lo;
    }
    writeL4Checksum(into, o, this.isUdp, sum);
  }
}

/**
 * Copy `n` words of `from` to `to` at word `at`. Straight-line stores, 8, then 4, 2 and 1 at a time: a plain
 * loop over typed arrays costs V8 several times more per word here (its bounds and length checks are not hoisted
 * out of short loops over a SharedArrayBuffer).
 */
function copyWords(to: Int32Array, at: number, from: Int32Array, n: number): void {
  let o = at;
  let j = 0;
  let left = n;
  while (left >= 8) {
    to[o] = from[j];
    to[o + 1] = from[j + 1];
    to[o + 2] = from[j + 2];
    to[o + 3] = from[j + 3];
    to[o + 4] = from[j + 4];
    to[o + 5] = from[j + 5];
    to[o + 6] = from[j + 6];
    to[o + 7] = from[j + 7];
    o += 8;
    j += 8;
    left -= 8;
  }
  if (left >= 4) {
    to[o] = from[j];
    to[o + 1] = from[j + 1];
    to[o + 2] = from[j + 2];
    to[o + 3] = from[j + 3];
    o += 4;
    j += 4;
    left -= 4;
  }
  if (left >= 2) {
    to[o] = from[j];
    to[o + 1] = from[j + 1];
    o += 2;
    j += 2;
    left -= 2;
  }
  if (left !== 0) to[o] = from[j];
}

function writeL4Checksum(frame: Uint8Array, o: number, isUdp: boolean, sum: number): void {
  let checksum = ~onesComplementFold(sum) & 0xffff;
  // RFC 768: a computed UDP checksum of zero is transmitted as all ones (zero means "no checksum").
  if (isUdp && checksum === 0) checksum = 0xffff;
  const at = o + (isUdp ? L4 + 6 : L4 + 16);
  frame[at] = checksum >>> 8;
  frame[at + 1] = checksum & 0xff;
}

/** Pseudo-header sum (RFC 768/793) without the length: source, destination, protocol. */
function pseudoHeaderSum(frame: Uint8Array): number {
  return onesComplementSum(frame, L3 + 12, L3 + 20) + frame[L3 + 9];
}

/**
 * Complete a full template of `length` bytes whose headers (lengths and checksums zero) are in place:
 * write lengths and checksums. Returns the unfolded L4 sum over the frame with the L4 checksum field zero
 * (the payload is zero, so a stamp only adds its own words).
 */
function finishHeaders(t: Uint8Array, length: number, isUdp: boolean): number {
  const ipLength = length - ETH_LEN;
  const l4Length = ipLength - IP_LEN;
  t[L3 + 2] = ipLength >>> 8;
  t[L3 + 3] = ipLength & 0xff;
  const ipChecksum = ~onesComplementFold(onesComplementSum(t, L3, L4)) & 0xffff;
  t[L3 + 10] = ipChecksum >>> 8;
  t[L3 + 11] = ipChecksum & 0xff;
  if (isUdp) {
    t[L4 + 4] = l4Length >>> 8;
    t[L4 + 5] = l4Length & 0xff;
  }
  const sum = pseudoHeaderSum(t) + l4Length + onesComplementSum(t, L4, length);
  writeL4Checksum(t, 0, isUdp, sum);
  return sum;
}

const DEFAULTS = {
  srcMac: '02:00:00:00:00:01',
  dstMac: '02:00:00:00:00:02',
  srcIp: '10.0.0.1',
  dstIp: '10.1.0.1',
  srcPort: 1024,
  dstPort: 80,
};

/** One header (Ethernet + IPv4 + L4, lengths and checksums zero) per flow. */
function buildFlowHeaders(options: GeneratorOptions, flows: number, isUdp: boolean): Uint8Array[] {
  const srcMac = parseMac(options.srcMac ?? DEFAULTS.srcMac);
  const dstMac = parseMac(options.dstMac ?? DEFAULTS.dstMac);
  const srcIp = parseIpv4(options.srcIp ?? DEFAULTS.srcIp);
  const dstIp = parseIpv4(options.dstIp ?? DEFAULTS.dstIp);
  const srcPort = checkPort('srcPort', options.srcPort ?? DEFAULTS.srcPort);
  const dstPort = checkPort('dstPort', options.dstPort ?? DEFAULTS.dstPort);
  const ttl = options.ttl ?? 64;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) throw new TinyNfError(`generator: ttl must be 0..255, not ${ttl}`);
  const tcpFlags = options.tcpFlags ?? 0x10;
  if (!Number.isInteger(tcpFlags) || tcpFlags < 0 || tcpFlags > 255) {
    throw new TinyNfError(`generator: tcpFlags must be 0..255, not ${tcpFlags}`);
  }
  const vary = new Set<FlowField>(
    options.vary === undefined ? ['srcIp'] : typeof options.vary === 'string' ? [options.vary] : options.vary,
  );
  const last = flows - 1;
  for (const field of vary) {
    switch (field) {
      case 'srcIp':
      case 'dstIp': {
        const base = field === 'srcIp' ? srcIp : dstIp;
        if (base + last > 0xffffffff) throw new TinyNfError(`generator: ${flows} flows overflow ${field} from its base`);
        break;
      }
      case 'srcPort':
      case 'dstPort': {
        const base = field === 'srcPort' ? srcPort : dstPort;
        if (base + last > 0xffff) throw new TinyNfError(`generator: ${flows} flows overflow ${field} (max 65535) from ${base}`);
        break;
      }
      case 'srcMac': {
        const low = (srcMac[3] << 16) | (srcMac[4] << 8) | srcMac[5];
        if (low + last > 0xffffff) throw new TinyNfError(`generator: ${flows} flows overflow the low 3 bytes of srcMac`);
        break;
      }
      default:
        throw new TinyNfError(
          `generator: cannot vary '${String(field)}': choose among srcIp, dstIp, srcPort, dstPort, srcMac`,
        );
    }
  }

  const headerLength = L4 + (isUdp ? UDP_LEN : TCP_LEN);
  const memory = new ArrayBuffer(flows * headerLength);
  const headers: Uint8Array[] = [];
  for (let k = 0; k < flows; k++) {
    const h = new Uint8Array(memory, k * headerLength, headerLength);
    // Ethernet II
    h.set(dstMac, 0);
    h.set(srcMac, 6);
    if (vary.has('srcMac')) {
      const low = ((srcMac[3] << 16) | (srcMac[4] << 8) | srcMac[5]) + k;
      h[9] = (low >>> 16) & 0xff;
      h[10] = (low >>> 8) & 0xff;
      h[11] = low & 0xff;
    }
    h[12] = 0x08; // EtherType IPv4
    h[13] = 0x00;
    // IPv4 (RFC 791): version 4, IHL 5, no options, ID 0, no fragmentation; lengths/checksum later.
    h[L3] = 0x45;
    h[L3 + 8] = ttl;
    h[L3 + 9] = isUdp ? 17 : 6;
    writeBe32(h, L3 + 12, vary.has('srcIp') ? srcIp + k : srcIp);
    writeBe32(h, L3 + 16, vary.has('dstIp') ? dstIp + k : dstIp);
    writeBe16(h, L4, vary.has('srcPort') ? srcPort + k : srcPort);
    writeBe16(h, L4 + 2, vary.has('dstPort') ? dstPort + k : dstPort);
    if (!isUdp) {
      // TCP (RFC 793): sequence and acknowledgement 0, data offset 5 words, flags, window 65535.
      h[L4 + 12] = 0x50;
      h[L4 + 13] = tcpFlags;
      writeBe16(h, L4 + 14, 0xffff);
    }
    headers.push(h);
  }
  return headers;
}

function parseSizes(sizes: FrameSizes): FrameSizeWeight[] {
  let list: FrameSizeWeight[];
  if (sizes === 'imix') {
    list = [
      { size: 60, weight: 7 },
      { size: 590, weight: 4 },
      { size: 1514, weight: 1 },
    ];
  } else if (typeof sizes === 'number') {
    list = [{ size: sizes, weight: 1 }];
  } else if (Array.isArray(sizes) && sizes.length > 0) {
    list = (sizes as readonly (number | FrameSizeWeight)[]).map((s) =>
      typeof s === 'number' ? { size: s, weight: 1 } : { size: s.size, weight: s.weight },
    );
  } else {
    throw new TinyNfError(`generator: frameSize must be a number, a non-empty list or 'imix', not ${JSON.stringify(sizes)}`);
  }
  for (const { size, weight } of list) {
    if (!Number.isInteger(size) || size < MIN_FRAME || size > MAX_FRAME) {
      throw new TinyNfError(`generator: frame size ${size} out of range: ${MIN_FRAME}..${MAX_FRAME} bytes without FCS`);
    }
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new TinyNfError(`generator: frame size weight must be a positive number, not ${weight}`);
    }
  }
  return list;
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new TinyNfError(`generator: ${name} must be 0..65535, not ${port}`);
  }
  return port;
}

function writeBe16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function writeBe32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
