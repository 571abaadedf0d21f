// A simulated remote peer: what a port transmits comes back to it as replies. Its output takes the frames the NIC
// transmits; its input hands back, for each IPv4 TCP, UDP or ICMP echo request frame, the reply a peer would send,
// due when the frame left (plus an optional fixed delay). `tinynf run nat --sim` plugs it into the NAT's WAN port
// so that WAN traffic is real replies to the translated flows, whatever external ports the NAT chose (RFC 6056
// Algorithm 4 makes them keyed random, so no generator can guess them).
//
// A reply is the frame with its addresses swapped: Ethernet source and destination, IPv4 source and destination,
// TCP/UDP source and destination port. No checksum changes: the IPv4 header checksum and the TCP/UDP checksum are
// one's complement sums of 16-bit words (RFC 1071), and addition is commutative, so swapping words within what
// they cover (the header; the pseudo-header and the L4 header) leaves them valid — a UDP checksum of 0 (none)
// stays 0. An ICMP echo request (type 8) becomes an echo reply (type 0, RFC 792), the ICMP checksum adjusted for
// the changed word incrementally (RFC 1624 eqn. 3). The rest (TTL, identification, payload) is unchanged.
//
// Not answered, and counted in `unanswered`: frames that are not IPv4, IPv4 that is malformed (IHL < 5, header
// longer than the frame, L4 header cut off), fragments (no reassembly: a reply per datagram only), other protocols
// and ICMP other than echo request. VLAN-tagged frames are not IPv4 here (the EtherType must be 0x0800).
//
// The replies wait in a bounded queue (`capacity` frames, in one preallocated byte ring): nothing is allocated per
// frame. A frame transmitted while the queue is full is not answered and is counted in `overflowed` (never lost
// silently); that happens when the port does not take its input (receive disabled, or no descriptor without
// DROP_EN, so the NIC holds the wire).
//
// Pairing: like TapWire.acquire, RepliesWire.acquire(name) shares one wire per name within a thread (a worker
// thread has its own), reference-counted, so an input and an output described separately ({ kind: 'replies',
// name }, describe.ts) are the two halves of the same peer. Both must be created in the thread that runs the
// port (as SimWorker's descriptions are).
import { TinyNfError } from '../../env/environment';
import { MAX_WIRE_FRAME, WireInput, WireOutput } from '../wire';

export interface RepliesOptions {
  /** Replies that may wait at most (default 4096); a frame transmitted while that many wait is not answered. */
  capacity?: number;
  /** Bytes the waiting replies may take at most (default capacity * 2048; at least MAX_WIRE_FRAME, 16 KiB). */
  bufferBytes?: number;
  /** A reply is due this long after its frame left (ns, default 0: at once, as a peer on the wire would be). */
  delayNs?: number;
  /**
   * Where the wire counts (REPLIES_COUNTERS entries: answered, delivered, unanswered, overflowed), e.g. a
   * Float64Array over a SharedArrayBuffer that the thread which described the wire reads while a worker thread runs
   * it (as CountingOutput's counters). Default: an array of its own.
   */
  counters?: Float64Array;
}

/** The counters' places in RepliesOptions.counters. */
export const REPLIES_COUNTER = { answered: 0, delivered: 1, unanswered: 2, overflowed: 3 } as const;
export const REPLIES_COUNTERS = 4;

export const REPLIES_DEFAULT_CAPACITY = 4096;
const DEFAULT_BYTES_PER_REPLY = 2048;
/** How much longer than the frame its view may be for answer() to copy the whole view natively. */
const SET_SLACK_BYTES = 64;

const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTO_ICMP = 1;
const IP_PROTO_TCP = 6;
const IP_PROTO_UDP = 17;
/** Bytes of the L4 header a reply needs: TCP/UDP ports (4), ICMP type, code, checksum (4). */
const L4_NEEDED = 4;
const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;

/** Frames transmitted on the port: each becomes a reply waiting in the wire (or is counted). */
export class RepliesOutput implements WireOutput {
  constructor(private readonly wire: RepliesWire) {}

  frame(frame: Uint8Array, length: number, nowNs: number): void {
    this.wire.answer(frame, length, nowNs);
  }

  close(): void {
    this.wire.release();
  }
}

/** The replies, as they arrive at the port. Never waits: 0 if no reply is due. */
export class RepliesInput implements WireInput {
  constructor(private readonly wire: RepliesWire) {}

  next(into: Uint8Array, nowNs: number): number {
    return this.wire.take(into, nowNs);
  }

  /** The NIC drops the next due reply without looking at it (SkippableInput: receive off, or DROP_EN and no descriptor). */
  skip(nowNs: number): number {
    return this.wire.drop(nowNs);
  }

  close(): void {
    this.wire.release();
  }
}

const openWires = new Map<string, RepliesWire>();

/** One simulated peer: `output` takes what the port transmits, `input` gives the replies back. */
export class RepliesWire {
  readonly input: RepliesInput;
  readonly output: RepliesOutput;
  readonly capacity: number;
  readonly delayNs: number;
  /** answered, delivered, unanswered, overflowed (REPLIES_COUNTER); read them through the getters below. */
  readonly counters: Float64Array;

  /** Replies queued (frames answered). */
  get answered(): number {
    return this.counters[REPLIES_COUNTER.answered];
  }

  /** Replies handed to the port (taken or skipped by the NIC). */
  get delivered(): number {
    return this.counters[REPLIES_COUNTER.delivered];
  }

  /** Frames that get no reply: not IPv4 TCP/UDP/ICMP echo request, malformed, fragments. */
  get unanswered(): number {
    return this.counters[REPLIES_COUNTER.unanswered];
  }

  /** Frames not answered because the queue was full (capacity replies, or bufferBytes, waiting). */
  get overflowed(): number {
    return this.counters[REPLIES_COUNTER.overflowed];
  }

  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly halves: Uint16Array;
  /** Per queue slot: the reply's first byte in `bytes` (a multiple of 4), its length, and when it is due. */
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  private readonly dueNs: Float64Array;
  private head = 0;
  private count = 0;
  /** Where the next reply's bytes go (the end of the newest one, rounded up to 4). */
  private writeAt = 0;
  /** The last `into` next() copied to, as 32-bit words (the NIC's receive staging buffer: the same every time). */
  private intoBytes: Uint8Array | null = null;
  private intoWords: Int32Array | null = null;
  /** The buffer of the last frame answer() copied, as 32-bit words. */
  private fromBuffer: ArrayBufferLike | null = null;
  private fromWords: Int32Array | null = null;
  private references = 1;

  private constructor(
    readonly name: string,
    options: RepliesOptions,
  ) {
    const capacity = options.capacity ?? REPLIES_DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) throw new TinyNfError(`replies wire '${name}': capacity must be a whole number 1..${1 << 20}, got ${capacity}`);
    const bufferBytes = options.bufferBytes ?? Math.max(capacity * DEFAULT_BYTES_PER_REPLY, MAX_WIRE_FRAME);
    if (!Number.isInteger(bufferBytes) || bufferBytes < MAX_WIRE_FRAME || bufferBytes > 1 << 30) {
      throw new TinyNfError(`replies wire '${name}': bufferBytes must be a whole number ${MAX_WIRE_FRAME}..${1 << 30}, got ${bufferBytes}`);
    }
    const delayNs = options.delayNs ?? 0;
    if (!(delayNs >= 0 && delayNs < 1e15)) throw new TinyNfError(`replies wire '${name}': delayNs must be a number >= 0, got ${delayNs}`);
    const counters = options.counters ?? new Float64Array(REPLIES_COUNTERS);
    // (not instanceof: an array made in another realm, a test runner's or a structured clone's, is one as well)
    if (Object.prototype.toString.call(counters) !== '[object Float64Array]' || counters.length < REPLIES_COUNTERS) {
      throw new TinyNfError(`replies wire '${name}': counters must be a Float64Array of at least ${REPLIES_COUNTERS} entries`);
    }
    this.counters = counters;
    this.capacity = capacity;
    this.delayNs = delayNs;
    const buffer = new ArrayBuffer((bufferBytes + 3) & ~3);
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
    this.halves = new Uint16Array(buffer);
    this.starts = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.dueNs = new Float64Array(capacity);
    this.input = new RepliesInput(this);
    this.output = new RepliesOutput(this);
  }

  /** A wire of its own (not shared by name). Call close() when done. */
  static create(options: RepliesOptions = {}, name = 'replies'): RepliesWire {
    return new RepliesWire(name, options);
  }

  /**
   * The thread-wide wire `name`, made on first use and shared by later callers (so an input and an output
   * described separately are one peer); each acquire needs one release (or close()). Options count on first use.
   */
  static acquire(name: string, options: RepliesOptions = {}): RepliesWire {
    if (typeof name !== 'string' || name === '') throw new TinyNfError(`a replies wire needs a name (a non-empty string), got ${JSON.stringify(name)}`);
    const existing = openWires.get(name);
    if (existing !== undefined) {
      existing.references++;
      return existing;
    }
    const wire = new RepliesWire(name, options);
    openWires.set(name, wire);
    return wire;
  }

  /** Replies waiting (due or not). */
  get pending(): number {
    return this.count;
  }

  /** Queue the reply to a frame the port transmitted at `nowNs` (or count why there is none). */
  answer(frame: Uint8Array, length: number, nowNs: number): void {
    if (!replyable(frame, length)) {
      this.counters[REPLIES_COUNTER.unanswered]++;
      return;
    }
    // A view no longer than the frame by much (the NIC's cached view of a descriptor's buffer, as sized for the
    // first frame it held: usually this frame's length) is copied whole by set(), natively (a JS loop costs about
    // a nanosecond per element here); the bytes past `length` are room the ring sets aside, then reuses.
    const whole = frame.length <= length + SET_SLACK_BYTES;
    const at = this.place(whole ? frame.length : length);
    if (at < 0) {
      this.counters[REPLIES_COUNTER.overflowed]++;
      return;
    }
    const bytes = this.bytes;
    if (whole) {
      bytes.set(frame, at);
    } else {
      let i = 0;
      if ((frame.byteOffset & 3) === 0) {
        // word-wise: the frame is a view of DMA memory (or a NIC's staging buffer), a few buffers in all, so a word
        // view of its buffer is made when the buffer changes, not per frame
        let fromWords = this.fromWords;
        if (this.fromBuffer !== frame.buffer || fromWords === null) {
          fromWords = new Int32Array(frame.buffer, 0, frame.buffer.byteLength >>> 2);
          this.fromBuffer = frame.buffer;
          this.fromWords = fromWords;
        }
        const words = this.words;
        const to = at >>> 2;
        const from = frame.byteOffset >>> 2;
        const n = length >>> 2;
        for (let w = 0; w < n; w++) words[to + w] = fromWords[from + w];
        i = n << 2;
      }
      for (; i < length; i++) bytes[at + i] = frame[i];
    }
    makeReply(bytes, this.halves, at, length);
    const capacity = this.capacity;
    let slot = this.head + this.count;
    if (slot >= capacity) slot -= capacity;
    this.starts[slot] = at;
    this.lengths[slot] = length;
    this.dueNs[slot] = nowNs + this.delayNs;
    this.count++;
    this.writeAt = (at + length + 3) & ~3;
    this.counters[REPLIES_COUNTER.answered]++;
  }

  /** Copy the oldest reply into `into` if it is due at `nowNs`; its length, or 0. */
  take(into: Uint8Array, nowNs: number): number {
    if (this.count === 0) return 0;
    const slot = this.head;
    if (this.dueNs[slot] > nowNs) return 0;
    const at = this.starts[slot];
    const length = this.lengths[slot];
    const bytes = this.bytes;
    let i = 0;
    if ((into.byteOffset & 3) === 0) {
      // word-wise: `at` is a multiple of 4; a view over the NIC's staging buffer is made once, not per frame
      let intoWords = this.intoWords;
      if (this.intoBytes !== into || intoWords === null) {
        intoWords = new Int32Array(into.buffer, into.byteOffset, into.length >>> 2);
        this.intoBytes = into;
        this.intoWords = intoWords;
      }
      const words = this.words;
      const from = at >>> 2;
      const n = length >>> 2;
      for (let w = 0; w < n; w++) intoWords[w] = words[from + w];
      i = n << 2;
    }
    for (; i < length; i++) into[i] = bytes[at + i];
    this.pop();
    return length;
  }

  /** Forget the oldest reply if it is due (the NIC dropped it unseen); its length, or 0. */
  drop(nowNs: number): number {
    if (this.count === 0) return 0;
    const slot = this.head;
    if (this.dueNs[slot] > nowNs) return 0;
    const length = this.lengths[slot];
    this.pop();
    return length;
  }

  private pop(): void {
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    this.counters[REPLIES_COUNTER.delivered]++;
    if (this.count === 0) this.writeAt = 0; // empty: start over at the front (keeps the ring from fragmenting)
  }

  /**
   * Where a reply of `length` bytes goes in the byte ring, or -1 if the queue is full. Replies lie in the ring in
   * queue order, each contiguous: one that does not fit before the end goes to the front, if the oldest waiting
   * reply leaves room there.
   */
  private place(length: number): number {
    if (this.count === this.capacity) return -1;
    const size = this.bytes.length;
    if (this.count === 0) return length <= size ? 0 : -1;
    const oldest = this.starts[this.head];
    const at = this.writeAt;
    if (at > oldest) {
      // the waiting replies lie in [oldest, at): room after them, else at the front before the oldest
      if (at + length <= size) return at;
      return length <= oldest ? 0 : -1;
    }
    // wrapped: the newest lie before the oldest; room between them
    return at + length <= oldest ? at : -1;
  }

  /** Drop one reference; the wire is forgotten (its name free again) with the last one. */
  release(): void {
    if (this.references === 0) return;
    this.references--;
    if (this.references === 0 && openWires.get(this.name) === this) openWires.delete(this.name);
  }

  /** Forget the wire now, whatever the references. */
  close(): void {
    this.references = 1;
    this.release();
  }
}

/** Whether the frame is one a peer answers: IPv4 (not a fragment) TCP, UDP, or ICMP echo request. */
function replyable(frame: Uint8Array, length: number): boolean {
  if (length < ETH_HEADER + 20 || length > frame.length || length > MAX_WIRE_FRAME) return false;
  if (((frame[12] << 8) | frame[13]) !== ETHERTYPE_IPV4) return false;
  const versionIhl = frame[ETH_HEADER];
  if (versionIhl >>> 4 !== 4) return false;
  const ihl = (versionIhl & 0x0f) * 4;
  if (ihl < 20) return false;
  const l4 = ETH_HEADER + ihl;
  if (l4 + L4_NEEDED > length) return false;
  // MF set or a fragment offset: not a whole datagram (RFC 791)
  if ((((frame[ETH_HEADER + 6] << 8) | frame[ETH_HEADER + 7]) & 0x3fff) !== 0) return false;
  const protocol = frame[ETH_HEADER + 9];
  if (protocol === IP_PROTO_TCP || protocol === IP_PROTO_UDP) return true;
  return protocol === IP_PROTO_ICMP && frame[l4] === ICMP_ECHO_REQUEST;
}

/**
 * Turn the frame of `length` bytes at `at` (a multiple of 4; checked by replyable) into its reply, in place. The
 * swapped fields all start at even offsets: they are swapped as 16-bit units of memory (`halves`, a view of the same
 * buffer), whatever the platform's byte order, at a quarter of the cost of byte moves.
 */
function makeReply(b: Uint8Array, halves: Uint16Array, at: number, length: number): void {
  const h = at >>> 1;
  // Ethernet destination (halves 0..2) <-> source (3..5)
  swap16(halves, h, h + 3);
  swap16(halves, h + 1, h + 4);
  swap16(halves, h + 2, h + 5);
  // IPv4 source (frame bytes 26..29: halves 13, 14) <-> destination (30..33: 15, 16); the header checksum covers
  // both, summed the same
  swap16(halves, h + 13, h + 15);
  swap16(halves, h + 14, h + 16);
  const ip = at + ETH_HEADER;
  const l4 = ip + (b[ip] & 0x0f) * 4;
  if (b[ip + 9] === IP_PROTO_ICMP) {
    // echo request -> echo reply: the word (type, code) changes from 0x08cc to 0x00cc (RFC 1624 eqn. 3)
    const code = b[l4 + 1];
    const checksum = (b[l4 + 2] << 8) | b[l4 + 3];
    let updated = checksumReplace16(checksum, (ICMP_ECHO_REQUEST << 8) | code, (ICMP_ECHO_REPLY << 8) | code);
    b[l4] = ICMP_ECHO_REPLY;
    // Eqn. 3 gives 0x0000 when the new message sums to -0 (0xffff), right unless every word of it is zero (the
    // sum is then +0 and the field must be 0xffff): an echo reply of code 0, identifier 0, sequence 0 and a
    // zero payload. Looked at only when the field came out 0 (1 in 65536 replies).
    if (updated === 0) {
      const end = ip + ((b[ip + 2] << 8) | b[ip + 3]);
      if (allZeroExceptChecksum(b, l4, end < at + length ? end : at + length)) updated = 0xffff;
    }
    b[l4 + 2] = updated >>> 8;
    b[l4 + 3] = updated & 0xff;
    return;
  }
  // TCP/UDP source port <-> destination port (l4 is even: 14 + 4 * IHL); their checksum's pseudo-header and header
  // hold both, summed the same
  swap16(halves, l4 >>> 1, (l4 >>> 1) + 1);
}

/** Swap two 16-bit units of memory. */
function swap16(halves: Uint16Array, i: number, j: number): void {
  const t = halves[i];
  halves[i] = halves[j];
  halves[j] = t;
}

/** Whether the ICMP message [l4, end) (end: the IPv4 total length's) is all zeros but for its checksum field. */
function allZeroExceptChecksum(b: Uint8Array, l4: number, end: number): boolean {
  for (let i = l4; i < end; i++) if (b[i] !== 0 && i !== l4 + 2 && i !== l4 + 3) return false;
  return true;
}

/**
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for one 16-bit word m -> m' (as src/nf/lib/checksum.ts's
 * checksumReplace16; the simulator does not depend on the NF library).
 */
function checksumReplace16(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + newWord;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
