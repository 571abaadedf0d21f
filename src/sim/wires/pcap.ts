// Classic libpcap capture files (the format tcpdump -w writes and tcpdump/Wireshark read):
//   global header, 24 bytes: magic u32, version major u16 (2), minor u16 (4), thiszone i32 (0),
//     sigfigs u32 (0), snaplen u32, linktype u32 (1 = LINKTYPE_ETHERNET)
//   per record, 16 bytes: ts_sec u32, ts_frac u32 (µs, or ns with the nanosecond magic), incl_len u32,
//     orig_len u32; then incl_len bytes of frame.
// The magic tells byte order and resolution: 0xa1b2c3d4 (µs) or 0xa1b23c4d (ns) read in the writer's
// byte order; read byte-swapped (0xd4c3b2a1 / 0x4d3cb2a1), every field is big-endian.
// Frames are Ethernet frames without FCS, like the wire interface (src/sim/wire.ts).
//
// PcapWriter is a WireOutput (little-endian files, buffered). PcapInput is a WireInput replaying a file as
// fast as asked or honouring its timestamps, any number of times. readPcap() parses a file for tests/tools.
import * as fs from 'fs';
import { TinyNfError } from '../../env/environment';
import { MAX_WIRE_FRAME, MIN_WIRE_FRAME, WireInput, WireOutput } from '../wire';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_MAGIC = 0x0a0d0d0a;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;
export const DEFAULT_SNAPLEN = 65535;
/** libpcap refuses records above 256 KiB (MAXIMUM_SNAPLEN); so do we, as a sign of a corrupt file. */
const MAX_RECORD = 262144;

export type PcapResolution = 'us' | 'ns';

export interface PcapWriterOptions {
  /** Timestamp resolution (default 'ns'; tcpdump reads both). */
  resolution?: PcapResolution;
  /** Frames longer than this are truncated in the file (incl_len < orig_len). Default 65535. */
  snaplen?: number;
  /** Whole seconds added to each frame's timestamp (default 0: simulated time counts from 1970; pass e.g.
   *  Math.floor(Date.now() / 1000) for wall-clock-looking captures without losing ns precision). */
  epochSeconds?: number;
  /** Write buffer size (default 1 MiB). */
  bufferBytes?: number;
}

/** A WireOutput writing each frame to a classic pcap file. Call close() (or flush()) to get it on disk. */
export class PcapWriter implements WireOutput {
  readonly path: string;
  private fd: number;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private readonly nanoseconds: boolean;
  private readonly snaplen: number;
  private readonly epochSeconds: number;
  private count = 0;

  constructor(path: string, options: PcapWriterOptions = {}) {
    this.path = path;
    const resolution = options.resolution ?? 'ns';
    if (resolution !== 'us' && resolution !== 'ns') {
      throw new TinyNfError(`pcap writer: resolution must be 'us' or 'ns', not '${String(resolution)}'`);
    }
    this.nanoseconds = resolution === 'ns';
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > MAX_RECORD) {
      throw new TinyNfError(`pcap writer: snaplen must be 1..${MAX_RECORD}, not ${this.snaplen}`);
    }
    this.epochSeconds = options.epochSeconds ?? 0;
    if (!Number.isInteger(this.epochSeconds) || this.epochSeconds < 0) {
      throw new TinyNfError(`pcap writer: epochSeconds must be a non-negative integer, not ${this.epochSeconds}`);
    }
    const size = Math.max(options.bufferBytes ?? 1 << 20, PCAP_GLOBAL_HEADER + PCAP_RECORD_HEADER);
    this.buffer = new Uint8Array(size);
    this.view = new DataView(this.buffer.buffer);
    try {
      this.fd = fs.openSync(path, 'w');
    } catch (e) {
      throw new TinyNfError(`cannot create pcap file ${path}: ${(e as Error).message}`);
    }
    const v = this.view;
    v.setUint32(0, this.nanoseconds ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.used = PCAP_GLOBAL_HEADER;
  }

  /** Frames written so far. */
  get packets(): number {
    return this.count;
  }

  frame(frame: Uint8Array, length: number, nowNs: number): void {
    if (this.fd < 0) throw new TinyNfError(`pcap writer: ${this.path} is closed`);
    const included = length < this.snaplen ? length : this.snaplen;
    if (this.used + PCAP_RECORD_HEADER + included > this.buffer.length) this.flush();
    const t = nowNs > 0 ? nowNs : 0;
    const seconds = Math.floor(t / 1e9);
    const fractionNs = Math.floor(t - seconds * 1e9);
    const v = this.view;
    const at = this.used;
    v.setUint32(at, seconds + this.epochSeconds, true);
    v.setUint32(at + 4, this.nanoseconds ? fractionNs : Math.floor(fractionNs / 1000), true);
    v.setUint32(at + 8, included, true);
    v.setUint32(at + 12, length, true);
    this.used = at + PCAP_RECORD_HEADER;
    if (this.used + included <= this.buffer.length) {
      for (let i = 0; i < included; i++) this.buffer[this.used + i] = frame[i];
      this.used += included;
    } else {
      // Larger than the whole buffer: write the header, then the frame directly.
      this.flush();
      writeAll(this.fd, frame, included, this.path);
    }
    this.count++;
  }

  /** Write buffered records to the file. */
  flush(): void {
    if (this.fd < 0 || this.used === 0) return;
    writeAll(this.fd, this.buffer, this.used, this.path);
    this.used = 0;
  }

  /** Flush and close (idempotent). */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

function writeAll(fd: number, bytes: Uint8Array, length: number, path: string): void {
  let done = 0;
  try {
    while (done < length) done += fs.writeSync(fd, bytes, done, length - done);
  } catch (e) {
    throw new TinyNfError(`cannot write pcap file ${path}: ${(e as Error).message}`);
  }
}

/** One record of a parsed pcap file. */
export interface PcapRecord {
  /** Timestamp in ns (µs files: a multiple of 1000). */
  timeNs: number;
  /** The captured bytes (incl_len of them). */
  data: Uint8Array;
  /** The frame's length on the wire (orig_len); larger than data.length if the capture truncated it. */
  originalLength: number;
}

export interface PcapFile {
  resolution: PcapResolution;
  littleEndian: boolean;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
}

/** Parse a classic pcap file (either byte order, µs or ns). Throws TinyNfError naming what is wrong. */
export function parsePcap(bytes: Uint8Array, name = 'pcap data'): PcapFile {
  const bad = (what: string) => new TinyNfError(`malformed pcap file ${name}: ${what}`);
  if (bytes.length < PCAP_GLOBAL_HEADER) {
    throw bad(`${bytes.length} bytes is shorter than the ${PCAP_GLOBAL_HEADER}-byte global header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  let littleEndian: boolean;
  let resolution: PcapResolution;
  if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
    littleEndian = true;
    resolution = magicLe === PCAP_MAGIC_NS ? 'ns' : 'us';
  } else {
    const magicBe = view.getUint32(0, false);
    if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
      littleEndian = false;
      resolution = magicBe === PCAP_MAGIC_NS ? 'ns' : 'us';
    } else if (magicLe === PCAPNG_MAGIC) {
      throw bad('this is pcapng, not classic pcap; convert it with `tcpdump -r in.pcapng -w out.pcap`');
    } else {
      throw bad(`bad magic number 0x${magicLe.toString(16).padStart(8, '0')} (expected a1b2c3d4 or a1b23c4d)`);
    }
  }
  const major = view.getUint16(4, littleEndian);
  if (major !== 2) throw bad(`unsupported version ${major}.${view.getUint16(6, littleEndian)} (expected 2.x)`);
  const snaplen = view.getUint32(16, littleEndian);
  // The upper bits of the link-type field can carry FCS information (pcap-linktype(7)); the type is the low 16.
  const linktype = view.getUint32(20, littleEndian) & 0xffff;
  if (linktype !== LINKTYPE_ETHERNET) {
    throw bad(`link type ${linktype} is not Ethernet (1); only Ethernet captures can be replayed on a wire`);
  }
  const fractionNs = resolution === 'ns' ? 1 : 1000;
  const records: PcapRecord[] = [];
  let at = PCAP_GLOBAL_HEADER;
  while (at < bytes.length) {
    const index = records.length;
    if (at + PCAP_RECORD_HEADER > bytes.length) {
      throw bad(`record ${index} at byte ${at}: truncated header (${bytes.length - at} of ${PCAP_RECORD_HEADER} bytes)`);
    }
    const seconds = view.getUint32(at, littleEndian);
    const fraction = view.getUint32(at + 4, littleEndian);
    const included = view.getUint32(at + 8, littleEndian);
    const original = view.getUint32(at + 12, littleEndian);
    if (fraction * fractionNs >= 1e9) {
      throw bad(`record ${index} at byte ${at}: sub-second field ${fraction} is not below one second`);
    }
    if (included > MAX_RECORD) throw bad(`record ${index} at byte ${at}: captured length ${included} is absurd`);
    if (at + PCAP_RECORD_HEADER + included > bytes.length) {
      throw bad(
        `record ${index} at byte ${at}: ${included} bytes announced, ${bytes.length - at - PCAP_RECORD_HEADER} present`,
      );
    }
    const start = at + PCAP_RECORD_HEADER;
    records.push({
      timeNs: seconds * 1e9 + fraction * fractionNs,
      data: bytes.subarray(start, start + included),
      originalLength: original,
    });
    at = start + included;
  }
  return { resolution, littleEndian, snaplen, linktype, records };
}

/** Read and parse a pcap file. */
export function readPcap(path: string): PcapFile {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (e) {
    throw new TinyNfError(`cannot read pcap file ${path}: ${(e as Error).message}`);
  }
  return parsePcap(bytes, path);
}

export interface PcapInputOptions {
  /** 'fast' (default): every frame is due at once; 'recorded': frame i is due its timestamp offset after
   *  the start, as captured. */
  timing?: 'fast' | 'recorded';
  /** How many times to replay the file (default 1; 0 = forever). */
  loops?: number;
  /** When the first frame is due (default: the nowNs of the first next() call). */
  startNs?: number;
}

/**
 * A WireInput replaying a pcap file. The whole file is read into memory at construction.
 * With 'recorded' timing and loops, each pass lasts the capture's span plus the last frame's time on a
 * 10 Gb/s wire ((length + 24) * 0.8 ns), so the passes follow one another like the capture's frames do.
 */
export class PcapInput implements WireInput {
  readonly packetCount: number;
  private readonly frames: Uint8Array[];
  private readonly offsetsNs: Float64Array;
  private readonly periodNs: number;
  private readonly recorded: boolean;
  private readonly loops: number;
  private startNs: number;
  private index = 0;
  private pass = 0;
  private sentFrames = 0;

  constructor(source: string | PcapFile, options: PcapInputOptions = {}) {
    const file = typeof source === 'string' ? readPcap(source) : source;
    this.frames = file.records.map((r) => r.data);
    // Refused at load, not mid-run: a frame larger than the simulated NIC can take (a 16 KiB receive buffer is the
    // largest Section 8.2.3.8.7 allows; the MAC drops longer frames anyway) would otherwise stop the replay.
    const tooLong = this.frames.findIndex((f) => f.length > MAX_WIRE_FRAME);
    if (tooLong >= 0) {
      throw new TinyNfError(
        `pcap input: frame ${tooLong} has ${this.frames[tooLong].length} bytes; the simulated NIC takes frames of at most ${MAX_WIRE_FRAME} bytes (without FCS): remove it from the capture (e.g. editcap -s ${MAX_WIRE_FRAME} to truncate)`,
      );
    }
    this.packetCount = this.frames.length;
    this.offsetsNs = new Float64Array(this.packetCount);
    const first = this.packetCount > 0 ? file.records[0].timeNs : 0;
    for (let i = 0; i < this.packetCount; i++) {
      // Captures are not always in time order (multi-queue capture): never go back in time.
      const t = file.records[i].timeNs - first;
      this.offsetsNs[i] = i > 0 && t < this.offsetsNs[i - 1] ? this.offsetsNs[i - 1] : t;
    }
    this.periodNs =
      this.packetCount > 0
        ? this.offsetsNs[this.packetCount - 1] + (this.frames[this.packetCount - 1].length + 24) * 0.8
        : 0;
    const timing = options.timing ?? 'fast';
    if (timing !== 'fast' && timing !== 'recorded') {
      throw new TinyNfError(`pcap input: timing must be 'fast' or 'recorded', not '${String(timing)}'`);
    }
    this.recorded = timing === 'recorded';
    const loops = options.loops ?? 1;
    if (!Number.isInteger(loops) || loops < 0) {
      throw new TinyNfError(`pcap input: loops must be a non-negative integer (0 = forever), not ${loops}`);
    }
    this.loops = loops === 0 ? Infinity : loops;
    this.startNs = options.startNs ?? NaN;
  }

  /** Frames produced so far (over all passes). */
  get sent(): number {
    return this.sentFrames;
  }

  /** Whether every pass has been replayed. */
  get done(): boolean {
    return this.packetCount === 0 || this.pass >= this.loops;
  }

  next(into: Uint8Array, nowNs: number): number {
    if (this.pass >= this.loops || this.packetCount === 0) return 0;
    if (this.startNs !== this.startNs) this.startNs = nowNs;
    const i = this.index;
    if (this.recorded && this.startNs + this.pass * this.periodNs + this.offsetsNs[i] > nowNs) return 0;
    const frame = this.frames[i];
    if (frame.length > into.length) {
      throw new TinyNfError(
        `pcap input: frame ${i} has ${frame.length} bytes, more than the ${into.length}-byte receive buffer`,
      );
    }
    into.set(frame);
    let length = frame.length;
    if (length < MIN_WIRE_FRAME && into.length >= MIN_WIRE_FRAME) {
      // INTERPRETATION: a capture holds frames as the capturing host saw them, before its NIC padded them (an ARP
      // request is 42 bytes); replayed onto a wire (as tcpreplay does through a NIC) a frame is padded with zeros to
      // the Ethernet minimum, as the TAP input does (wires/tap.ts), so the receiving NIC does not see a runt.
      into.fill(0, length, MIN_WIRE_FRAME);
      length = MIN_WIRE_FRAME;
    }
    if (i + 1 === this.packetCount) {
      this.index = 0;
      this.pass++;
    } else {
      this.index = i + 1;
    }
    this.sentFrames++;
    return length;
  }
}
