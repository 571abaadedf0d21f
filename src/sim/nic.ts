// One simulated 82599 port: a BAR0 register file the driver writes directly (a SharedArrayBuffer, no hooks), which
// the NIC POLLS against a shadow copy, as hardware sees bus writes; hardware-owned bits are written back into the
// register file; a DMA engine moves frames between the wires and the descriptor rings in (shared) physical memory;
// a conformance checker records every data-sheet violation it notices (checker.ts lists the rules).
//
// A register change "happens" at the poll that observes it. Writes landing between two polls are processed in the
// data sheet's order (global registers, then per queue: ring registers, ENABLE, head, tail), see docs/simulator.md.
import { TinyNfError } from '../env/environment';
import { Checker, Violation } from './checker';
import type { MemoryRegion, PhysicalMemory } from './memory';
import * as C from './pci-config';
import { RingState, RxQueueState, TxQueueState } from './queues';
import * as R from './registers';
import { writeResetValues } from './reset';
import type { DirectInput, WireInput, WireOutput } from './wire';
import { MAX_FRAME_BYTES, NicStats, PACE_LINE_RATE, PACE_NS_PER_FRAME, PACE_UNLIMITED, STAGING_BYTES, SkippableInput, TxPacing } from './nic-constants';
import { deliver, publishRxHead, receive } from './nic-receive';
import { RxEngine } from './nic-rx-engine';
import { TxEngine } from './nic-tx-engine';
import { pollDuringReset, powerOnReset, reloadState, startReset } from './nic-reset';
import { transmit } from './nic-transmit';
import type { EngineArea } from './wasm/layout';
import * as W from './nic-watch';
import { buildWatchList, hex, registerName } from './nic-watch';
import { StatisticsBase, readStatistic, updateStatisticsRegisters } from './nic-statistics';

export { FCS_BYTES, MAX_FRAME_BYTES, MIN_FRAME_BYTES, RESET_DURATION_NS, RX_BURST, STAGING_BYTES, WIRE_OVERHEAD_BYTES } from './nic-constants';
export type { NicStats, TxPacing } from './nic-constants';
export { registerName } from './nic-watch';

export interface SimNicOptions {
  address: string;
  /** PCI function number (STATUS.LAN_ID). */
  lanId: number;
  mac: Uint8Array;
  memory: PhysicalMemory;
  /** Throw a TinyNfError at the first violation instead of recording it. */
  strict?: boolean;
  /** Register file; a new 512 KiB SharedArrayBuffer if absent. */
  bar0?: SharedArrayBuffer;
  /** PCI config space; a new 4 KiB SharedArrayBuffer if absent. */
  config?: SharedArrayBuffer;
  /** Keep the register file's contents (standalone/worker: someone else initialised it) instead of a power-on reset. */
  keepRegisters?: boolean;
  /** Bus address of BAR0 (PCI config). */
  bar0Phys?: number;
  /** Staging memory for frames (fast copies when it is in the same buffer as the DMA memory). */
  staging?: { buffer: SharedArrayBuffer; rxOffset: number; txOffset: number };
  /**
   * The port's receive engine area (nic-rx-engine.ts), when the DMA window is a shared WebAssembly.Memory: bursts
   * from a stamping input (the generator) are then received by a WebAssembly kernel.
   */
  engine?: EngineArea;
  /**
   * Judge a tail written in the same poll interval as its queue's ENABLE as a violation (the driver cannot have
   * read ENABLE back as 1). Right when the driver and the NIC alternate (inline mode); not in worker mode.
   */
  sameIntervalStrict?: boolean;
  /**
   * The real clock (ns, the time base of poll's nowNs) when the NIC runs in real time (worker, standalone): read when
   * CTRL.RST is noticed, to tell whether the simulator itself stalled (descheduled, possibly between reading the clock
   * and polling). Absent in inline mode, whose time is simulated.
   */
  clock?: () => number;
}


/**
 * The port: its register file and the dispatch of register writes (this file); reset (nic-reset.ts), the receive
 * engine (nic-receive.ts) and the transmit engine (nic-transmit.ts) are functions over this state. Members without
 * an access modifier that are not documented as public API are internal to src/sim/nic*.ts.
 */
/**
 * How long a rewritten descriptor at an unchanged tail is tolerated before tx-tail-lap-suspected: a driver writes
 * descriptors before it moves the tail, and on a loaded machine its thread can lose the CPU for milliseconds in
 * between; a real lap never resolves (that direction stalls for good), so a long wait costs no detection.
 */
const TAIL_LAP_SUSPECT_NS = 1_000_000_000;

/** Unwatched words refreshed per full poll (SimNic.refreshUnwatched): BAR0 in 2,048 full polls. */
const UNWATCHED_REFRESH_WORDS = 64;
/** The refresh copies BAR0 in chunks this big (one memory copy each), when the polls have earned one. */
const UNWATCHED_REFRESH_CHUNK = 1024;

export class SimNic {
  readonly address: string;
  readonly bar0: SharedArrayBuffer;
  readonly config: SharedArrayBuffer;
  readonly stats: NicStats = {
    rxPackets: 0,
    rxBytes: 0,
    rxMissed: 0,
    rxFiltered: 0,
    rxNoDescriptor: 0,
    rxUndersize: 0,
    rxOversize: 0,
    txPackets: 0,
    txBytes: 0,
    txNullDescriptors: 0,
    dmaErrors: 0,
  };
  /** Polls done, and polls that found nothing to do (the simulator's idle fraction = idlePolls / polls). */
  polls = 0;
  idlePolls = 0;
  readonly checker: Checker;

  readonly regs: Uint32Array;
  readonly shadow: Uint32Array;
  /**
   * The register file as last refreshed (SimNic.refreshUnwatched), for the words the NIC does not watch: what a reset
   * after a stall compares them with (startReset). Hardware stores (hwStore, hwUpdate) write it as well.
   */
  readonly seen: Uint32Array;
  /** The register file's reset values (EEPROM-loaded MAC included; CTRL, EEC and RDRXCTL patched per reset). */
  readonly resetImage: Uint32Array;
  readonly resetEec: number;
  readonly resetRdrxctl: number;
  readonly configWords: Uint32Array;
  readonly memory: PhysicalMemory;
  readonly mac: Uint8Array;
  readonly lanId: number;
  readonly sameIntervalStrict: boolean;
  readonly clock: (() => number) | null;

  // Watch list, in processing order
  readonly watchWords: Int32Array;
  readonly watchKinds: Uint8Array;
  readonly watchParams: Int16Array;
  /** Register word -> index in the watch list, or -1. */
  readonly watchIndexOf: Int32Array;
  scanCursor = 0;
  /** The next chunk refreshUnwatched copies, and the words the polls have earned towards it. */
  unwatchedChunk = 0;
  unwatchedCredit = 0;
  /** regs and seen in chunks of UNWATCHED_REFRESH_CHUNK words (views made once). */
  private readonly regsChunks: Uint32Array[] = [];
  /** When the NIC last saw a register write other than a tail (a driver configuring it), ns; -Infinity if never. */
  lastConfigWriteNs = -Infinity;

  readonly rxQueues: RxQueueState[] = [];
  readonly txQueues: TxQueueState[] = [];
  /** Enabled transmit queues (the ones the data path looks at). */
  activeTx: TxQueueState[] = [];

  // Global state as the NIC last observed it
  resetting = false;
  resetEndNs = 0;
  masterDisabled = false;
  rxEnable = false;
  secRxDisabled = false;
  transmitEnable = false;
  crcStripMac = true;
  /** HLREG0.JUMBOEN: frames up to MAXFRS.MFS instead of 1518 bytes (with the FCS). */
  jumbo = false;
  crcStripDma = false;
  txPad = true;
  txCrc = true;
  loopback = false;
  promiscuousUnicast = false;
  promiscuousMulticast = false;
  acceptBroadcast = false;
  /** Valid receive addresses as 48-bit numbers (RAL | RAH << 32). */
  unicastAddresses: number[] = [];
  eims = 0;

  inputs: WireInput | null = null;
  /** The input again if it can skip frames, else null. */
  skipInput: SkippableInput | null = null;
  /** The input again if it can write straight into DMA memory (DirectInput: nextAt), else null. */
  directInput: DirectInput | null = null;
  /** The direct input's largest frame, or 0 (see directRxPossible). */
  directMax = 0;
  /** The last receiveDirect stopped because the input had no frame due. */
  rxInputDry = false;
  /** The port's receive engine, if it has an area (SimNicOptions.engine). */
  private readonly engine: RxEngine | null;
  /** The engine when it serves the attached input, else null (receiveFrames). */
  rxEngine: RxEngine | null = null;
  /** The port's transmit engine, if it has an engine area (transmitQueue uses it when no output is attached). */
  readonly txEngine: TxEngine | null;
  outputs: WireOutput[] = [];
  paceMode = PACE_UNLIMITED;
  paceNsPerFrame = 0;
  wireFreeNs = 0;
  lastPollNs = 0;
  /**
   * Receive side of the wire: busy until this time (ns) with the frames already taken from the input. A frame is
   * taken only when the wire is free, so arrivals never exceed 10 Gb/s whatever the input offers (pcap, queue).
   */
  rxWireFreeNs = 0;
  /**
   * Frames wait in the receive packet buffer: the last poll took a whole burst (RX_BURST) with the wire still free
   * (rxWireFreeNs <= that poll's time), so the next frames had arrived already and the next poll's go on arriving
   * right after them, not from the poll's time (receiveFrames, backlogFloor).
   */
  rxBacklog = false;
  /**
   * Receive polls with an input attached, and those of them that found the NIC behind: they took a whole burst
   * and left frames waiting (rxBacklog). A simulator that keeps up is behind only after a poll that came late; one
   * that cannot keep up is behind at nearly every poll (the bench's "limited by", docs/benchmarks.md).
   */
  rxBursts = 0;
  rxBurstsBehind = 0;

  // Staging buffers
  readonly stagingBuffer: SharedArrayBuffer;
  readonly stagingBytes: Uint8Array;
  readonly rxStagingOffset: number;
  readonly txStagingOffset: number;
  /** The receive staging area as the `into` of WireInput.next. */
  readonly rxInto: Uint8Array;
  readonly txFrame: Uint8Array;
  /** A received frame waiting for a descriptor (no DROP_EN); its length, or 0. */
  heldLength = 0;
  /** Bytes of a multi-descriptor transmit frame gathered so far. */
  txGathered = 0;
  txGatherIfcs = false;
  /** Reported "bus master disabled" since it was last enabled (one report per episode). */
  busMasterReported = false;

  constructor(options: SimNicOptions) {
    this.address = options.address;
    this.memory = options.memory;
    this.mac = options.mac;
    this.lanId = options.lanId;
    this.sameIntervalStrict = options.sameIntervalStrict ?? true;
    this.clock = options.clock ?? null;
    this.checker = new Checker(options.address, options.strict ?? false);
    this.bar0 = options.bar0 ?? new SharedArrayBuffer(R.BAR0_BYTES);
    if (this.bar0.byteLength < R.BAR0_BYTES) throw new TinyNfError(`BAR0 of ${this.address} must be ${R.BAR0_BYTES} bytes`);
    this.config = options.config ?? new SharedArrayBuffer(C.CONFIG_BYTES);
    this.regs = new Uint32Array(this.bar0, 0, R.BAR0_WORDS);
    this.shadow = new Uint32Array(R.BAR0_WORDS);
    this.seen = new Uint32Array(R.BAR0_WORDS);
    for (let w = 0; w < R.BAR0_WORDS; w += UNWATCHED_REFRESH_CHUNK) this.regsChunks.push(this.regs.subarray(w, w + UNWATCHED_REFRESH_CHUNK));
    this.resetImage = new Uint32Array(R.BAR0_WORDS);
    writeResetValues(this.resetImage, this.mac, this.lanId);
    this.resetEec = this.resetImage[R.EEC >>> 2];
    this.resetRdrxctl = this.resetImage[R.RDRXCTL >>> 2];
    this.configWords = new Uint32Array(this.config, 0, C.CONFIG_BYTES / 4);
    if (options.staging !== undefined) {
      this.stagingBuffer = options.staging.buffer;
      this.rxStagingOffset = options.staging.rxOffset;
      this.txStagingOffset = options.staging.txOffset;
    } else {
      this.stagingBuffer = new SharedArrayBuffer(2 * STAGING_BYTES);
      this.rxStagingOffset = 0;
      this.txStagingOffset = STAGING_BYTES;
    }
    this.stagingBytes = new Uint8Array(this.stagingBuffer);
    this.rxInto = new Uint8Array(this.stagingBuffer, this.rxStagingOffset, MAX_FRAME_BYTES);
    this.txFrame = new Uint8Array(this.stagingBuffer, this.txStagingOffset, STAGING_BYTES);
    for (let q = 0; q < R.RX_QUEUES; q++) this.rxQueues.push(new RxQueueState(q, R.rxQueueBase(q)));
    this.engine = options.engine !== undefined ? new RxEngine(options.engine) : null;
    if (this.engine !== null) this.rxQueues[0].snapshotArea = this.engine.snapshotArea;

    for (let q = 0; q < R.TX_QUEUES; q++) this.txQueues.push(new TxQueueState(q, R.txQueueBase(q)));
    this.txEngine = options.engine !== undefined ? new TxEngine(options.engine) : null;
    if (this.txEngine !== null) this.txQueues[0].snapshotArea = this.txEngine.snapshotArea;

    const watch = buildWatchList();
    this.watchWords = watch.words;
    this.watchKinds = watch.kinds;
    this.watchParams = watch.params;
    this.watchIndexOf = new Int32Array(R.BAR0_WORDS).fill(-1);
    for (let i = 0; i < this.watchWords.length; i++) this.watchIndexOf[this.watchWords[i]] = i;

    if (options.config === undefined || !options.keepRegisters) C.initConfigSpace(this.config, options.bar0Phys ?? 0xf000_0000);
    if (options.keepRegisters) {
      this.shadow.set(this.regs);
      this.seen.set(this.regs);
      reloadState(this);
    } else {
      powerOnReset(this);
    }
  }

  // ------------------------------------------------------------------ public API

  get violations(): Violation[] {
    return this.checker.violations;
  }

  get warnings(): Violation[] {
    return this.checker.warnings;
  }

  /** Frames arriving from the wire (replaces the previous input). */
  attachInput(input: WireInput): void {
    this.inputs = input;
    this.skipInput = typeof (input as Partial<SkippableInput>).skip === 'function' ? (input as SkippableInput) : null;
    const max = (input as { maxFrameLength?: unknown }).maxFrameLength;
    const direct = typeof (input as Partial<DirectInput>).nextAt === 'function' && typeof max === 'number' && max > 0 && max <= MAX_FRAME_BYTES;
    this.directInput = direct ? (input as DirectInput) : null;
    this.directMax = direct ? max : 0;
    this.rxEngine = direct && this.engine !== null && this.engine.prepare(input) ? this.engine : null;
    // the previous input's frames waiting in the packet buffer are not this one's
    this.rxBacklog = false;
  }

  /** Frames the NIC transmits go to every attached output. */
  attachOutput(output: WireOutput): void {
    this.outputs.push(output);
  }

  detachOutputs(): void {
    this.outputs = [];
  }

  /** How fast the port serialises transmitted frames: Mpps, 10 Gb/s line rate, or unlimited (default). */
  setTxPacing(pacing: TxPacing): void {
    if (pacing === 'unlimited') {
      this.paceMode = PACE_UNLIMITED;
    } else if (pacing === 'line-rate') {
      this.paceMode = PACE_LINE_RATE;
    } else if (typeof pacing === 'number' && pacing > 0 && Number.isFinite(pacing)) {
      this.paceMode = PACE_NS_PER_FRAME;
      this.paceNsPerFrame = 1000 / pacing;
    } else {
      throw new TinyNfError(`transmit pacing must be a positive number of Mpps, 'line-rate' or 'unlimited', got ${String(pacing)}`);
    }
  }

  /** PCI configuration read (Section 9.3). */
  configRead32(offset: number): number {
    return C.configRead32(this.configWords, offset);
  }

  configWrite32(offset: number, value: number): void {
    C.configWrite32(this.configWords, offset, value);
  }

  /**
   * One poll at time `nowNs`: notice register writes (`scanWords` watched words from a rotating cursor; all of them
   * by default), then do the DMA work that is due. Returns true if anything happened. = observe() then work().
   */
  poll(nowNs: number, scanWords = -1): boolean {
    const busy = this.work(nowNs, this.observe(nowNs, scanWords));
    this.release();
    return busy;
  }

  /** Only the data path (tails, no control-register scan): what an inline step between driver actions needs. */
  pollDataPath(nowNs: number): boolean {
    const busy = this.work(nowNs, this.observe(nowNs, 0));
    this.release();
    return busy;
  }

  /**
   * The first half of a poll: notice register writes (CTRL, then `scanWords` of the watch list, -1 = all, then the
   * tail of every enabled queue). A machine with several ports observes every port before any port does DMA work,
   * so that no port's receive runs ahead of a tail another port has not looked at yet (docs/simulator.md, "No
   * silent tail laps"). Returns true if anything changed.
   */
  observe(nowNs: number, scanWords: number): boolean {
    this.observedBusy = this.observeRegisters(nowNs, scanWords);
    return this.observedBusy;
  }

  /** What observe() found at the last poll (pollAll hands it to work()). */
  observedBusy = false;

  private observeRegisters(nowNs: number, scanWords: number): boolean {
    this.polls++;
    let busy = false;
    if (this.resetting) {
      busy = pollDuringReset(this, nowNs);
      if (this.resetting) return busy;
    }
    // CTRL every poll (a reset must be noticed at once, see startReset), then a window of the watch list
    if (this.regs[R.CTRL >>> 2] !== this.shadow[R.CTRL >>> 2]) {
      this.handle(this.watchIndexOf[R.CTRL >>> 2], nowNs);
      busy = true;
    }
    if (this.resetting) return true;
    if (scanWords !== 0) {
      if (this.scan(nowNs, scanWords)) busy = true;
      this.refreshUnwatched(scanWords < 0 ? UNWATCHED_REFRESH_WORDS : scanWords);
    }
    if (this.scanActiveTails(nowNs)) busy = true;
    return busy;
  }

  /**
   * The second half of a poll (after observe()): the receive and transmit DMA work that is due at `nowNs`. Its
   * register stores (RDH, TDH) are published by release() after it.
   */
  work(nowNs: number, observedBusy: boolean): boolean {
    let busy = observedBusy;
    if (!this.resetting) {
      if (receive(this, nowNs)) busy = true;
      if (transmit(this, nowNs)) busy = true;
    }
    this.lastPollNs = nowNs;
    if (!busy) this.idlePolls++;
    return busy;
  }

  /**
   * Refresh `count` words' worth of `seen`, the copy of the register file that a reset after a stall compares the
   * words the NIC does not watch with (startReset: a word differing from it is taken as written after the reset);
   * this keeps old writes (a previous process's) from being taken so. The polls earn `count` words each, and the copy
   * is made a chunk at a time when earned (one memory copy of 4 KiB in place of a word-by-word loop at every poll):
   * BAR0 is refreshed at the same rate, in bigger steps.
   */
  refreshUnwatched(count: number): void {
    let credit = this.unwatchedCredit + count;
    while (credit >= UNWATCHED_REFRESH_CHUNK) {
      const k = this.unwatchedChunk;
      this.seen.set(this.regsChunks[k], k * UNWATCHED_REFRESH_CHUNK);
      this.unwatchedChunk = k + 1 === this.regsChunks.length ? 0 : k + 1;
      credit -= UNWATCHED_REFRESH_CHUNK;
    }
    this.unwatchedCredit = credit;
  }

  /** Receive a frame as if it came from the wire now (bypassing the input; used by loopback and tests). */
  injectFrame(frame: Uint8Array, length: number, nowNs: number): void {
    if (this.heldLength !== 0) return;
    this.rxInto.set(frame.subarray(0, length));
    deliver(this, length, nowNs);
    publishRxHead(this);
    this.release();
  }

  // ------------------------------------------------------------------ reset

  readonly rxEnableRequested = new Uint8Array(R.RX_QUEUES);
  readonly txEnableRequested = new Uint8Array(R.TX_QUEUES);

  // ------------------------------------------------------------------ register scanning

  /** Store a hardware-written value (register file and shadow agree, so it is not mistaken for a driver write). */
  hwStore(w: number, value: number): void {
    Atomics.store(this.regs, w, value >>> 0);
    this.shadow[w] = value >>> 0;
    this.seen[w] = value >>> 0;
  }

  /**
   * A data-path store (RDH, TDH after a burst): a plain store, published with the burst's descriptor write-backs by
   * release() at the end of the poll (one locked instruction per poll instead of one per burst).
   */
  hwPublish(w: number, value: number): void {
    this.regs[w] = value >>> 0;
    this.shadow[w] = value >>> 0;
    this.seen[w] = value >>> 0;
    this.unreleased = w;
  }

  /** The word of the last hwPublish not yet released, or -1. */
  private unreleased = -1;

  /**
   * Publish this poll's data-path stores (descriptor write-backs, head write-back, RDH/TDH): the last hwPublish's
   * store done again as an Atomics.store, the release (on x86-64 a locked XCHG, which also drains the store buffer).
   * Returns false if there was nothing to publish. ASSUMPTION (ORDERING, docs/simulator.md "Memory order"): stores become
   * visible in program order, so one release after the poll publishes everything before it.
   */
  release(): boolean {
    const w = this.unreleased;
    if (w < 0) return false;
    this.unreleased = -1;
    Atomics.store(this.regs, w, this.shadow[w]);
    return true;
  }

  /** What release() would publish is published by another port's release after it (pollAll). */
  releasedWithOthers(): void {
    this.unreleased = -1;
  }

  /**
   * Update hardware-owned bits of a register software also writes: compare-and-swap from the value last seen, so a
   * concurrent driver write is not lost (it is then seen, and handled, at the next scan).
   */
  hwUpdate(w: number, seen: number, value: number): void {
    if (Atomics.compareExchange(this.regs, w, seen | 0, value | 0) >>> 0 === seen >>> 0) {
      this.shadow[w] = value >>> 0;
      this.seen[w] = value >>> 0;
    }
  }

  scan(nowNs: number, count: number): boolean {
    const words = this.watchWords;
    const n = words.length;
    let from = 0;
    let to = n;
    if (count >= 0 && count < n) {
      from = this.scanCursor;
      to = from + count;
      this.scanCursor = to >= n ? 0 : to;
      if (to > n) to = n;
    }
    const regs = this.regs;
    const shadow = this.shadow;
    let changed = false;
    for (let i = from; i < to; i++) {
      const w = words[i];
      if (regs[w] !== shadow[w]) {
        this.handle(i, nowNs);
        changed = true;
      }
    }
    return changed;
  }

  /** Process a pending write of the register at byte offset `offset` now (dependencies are judged first). */
  refresh(offset: number, nowNs: number): void {
    const w = offset >>> 2;
    const i = this.watchIndexOf[w];
    if (i >= 0 && this.regs[w] !== this.shadow[w]) this.handle(i, nowNs);
  }

  /**
   * Tails of enabled queues: every poll (the fast path of the driver writes them). Read with plain loads, as every
   * register (readRegister): an Atomics.load is a call to a V8 builtin, ~15 ns, not a load.
   */
  scanActiveTails(nowNs: number): boolean {
    let changed = false;
    const regs = this.regs;
    const shadow = this.shadow;
    const q0 = this.rxQueues[0];
    if (q0.enabled) {
      // handle() for a tail, without its dispatch (what it does for K_RDT / K_TDT)
      const w = (q0.base + R.RDT_OFF) >>> 2;
      const value = regs[w];
      if (value !== shadow[w]) {
        this.takeWrite(w, value, nowNs);
        this.onRdt(q0, value, nowNs);
        changed = true;
      }
    }
    const active = this.activeTx;
    for (let k = 0; k < active.length; k++) {
      const q = active[k];
      const w = (q.base + R.TDT_OFF) >>> 2;
      const value = regs[w];
      if (value !== shadow[w]) {
        this.takeWrite(w, value, nowNs);
        this.onTdt(q, value, nowNs);
        changed = true;
      } else if (q.head === q.tail && q.consumed >= q.size && !q.lapWarned) {
        this.checkTailLap(q, nowNs);
      }
    }
    return changed;
  }

  /**
   * A transmit queue whose descriptors the NIC has all consumed, and whose TDT did not change: if the descriptor at
   * the tail is no longer what the NIC consumed there (software rewrote it) and stays so for TAIL_LAP_SUSPECT_NS (1 s), the
   * driver may have advanced the tail by exactly one ring between two polls, which the NIC cannot tell from no
   * advance (Section 7.2.3.3: tail == head means the NIC owns nothing). Reported as a warning, once per enabling.
   * A lap that rewrites the descriptors identically (same length and flags) stays invisible: docs/simulator.md.
   */
  checkTailLap(q: TxQueueState, nowNs: number): void {
    // Only a rewrite that looks like a transmit descriptor counts (CMD.EOP, bit 24 of word 2, which every frame's
    // last descriptor has): in TinyNF's shared ring the same descriptor is also the input port's receive descriptor,
    // and the receiving NIC's write-back (length, status; bit 24 is 0) must not be mistaken for the driver's.
    if (q.unchanged(q.tail) || (q.ring[q.tail * 4 + 2] & R.TX_CMD_EOP) === 0) {
      q.lapSince = -1;
      return;
    }
    if (q.lapSince < 0) {
      q.lapSince = nowNs;
      return;
    }
    if (nowNs - q.lapSince < TAIL_LAP_SUSPECT_NS) return;
    q.lapWarned = true;
    this.checker.warning(
      nowNs,
      'tx-tail-lap-suspected',
      `TDT(${q.index})`,
      `descriptor ${q.tail} rewritten ${((nowNs - q.lapSince) / 1e6).toFixed(0)} ms ago while the NIC owns none and TDT stays ${q.tail}: a tail advance of exactly ${q.size} descriptors (one ring) is invisible to the NIC, those frames are not sent`,
    );
  }

  /** A driver write of `value` to word w, noticed: the shadow takes it (a write needs PCI Command.Memory Access Enable). */
  takeWrite(w: number, value: number, nowNs: number): void {
    this.shadow[w] = value;
    if ((this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_MEMORY_ACCESS_ENABLE) === 0) {
      this.checker.violation(nowNs, 'memory-access-disabled', registerName(w * 4), `written ${hex(value)} while PCI Command.Memory Access Enable is 0`);
    }
  }

  /**
   * A driver write to BAR0 word w as the NIC reads it: a plain load. ASSUMPTION (ORDERING, docs/simulator.md "Memory
   * order"): the driver writes BAR0 with plain 32-bit stores (device memory takes no locked instruction), so an
   * Atomics.load here would synchronise with nothing in the JavaScript memory model; what orders a tail after the
   * descriptors written before it is x86-64 itself (stores become visible in order, loads are not reordered with
   * older loads), and the NIC reads the descriptors only after the tail, in later calls. An aligned Uint32Array
   * element is read whole (ECMAScript: tear-free).
   */
  readRegister(w: number): number {
    return this.regs[w];
  }

  handle(i: number, nowNs: number): void {
    const w = this.watchWords[i];
    const old = this.shadow[w];
    const value = this.readRegister(w);
    if (value === old) return;
    this.takeWrite(w, value, nowNs);
    const param = this.watchParams[i];
    const kind = this.watchKinds[i];
    if (kind !== W.K_RDT && kind !== W.K_TDT) this.lastConfigWriteNs = nowNs;
    switch (kind) {
      case W.K_CTRL:
        return this.onCtrl(w, old, value, nowNs);
      case W.K_READ_ONLY:
        this.hwStore(w, old);
        return;
      case W.K_EEC: {
        const fixed = ((value & ~(R.EEC_AUTO_RD | R.EEC_EE_PRES)) | (old & (R.EEC_AUTO_RD | R.EEC_EE_PRES))) >>> 0;
        if (fixed !== value) this.hwUpdate(w, value, fixed);
        return;
      }
      case W.K_EIMS:
        // Section 8.2.3.5.3: writing 1 sets the mask bit; writing 0 has no effect
        this.eims = (this.eims | value) >>> 0;
        if (this.eims !== value) this.hwUpdate(w, value, this.eims);
        return;
      case W.K_EIMC:
        // Section 8.2.3.5.4: writing 1 clears the EIMS bit (EIMC(1)/(2) map to EIMS_EX, not modelled: storage)
        if (w === R.EIMC >>> 2) {
          this.eims = (this.eims & ~value) >>> 0;
          this.hwStore(R.EIMS >>> 2, this.eims);
        }
        this.hwUpdate(w, value, 0);
        return;
      case W.K_HLREG0:
        this.applyHlreg0(value);
        this.checkCrcStrip(nowNs);
        return;
      case W.K_RDRXCTL: {
        // DMAIDONE (bit 3) is hardware-owned: set unless a reset is in progress
        const fixed = (value | R.RDRXCTL_DMAIDONE) >>> 0;
        if (fixed !== value) this.hwUpdate(w, value, fixed);
        this.crcStripDma = (value & R.RDRXCTL_CRCSTRIP) !== 0;
        this.checkCrcStrip(nowNs);
        return;
      }
      case W.K_RXCTRL:
        return this.onRxctrl(value, nowNs);
      case W.K_FCTRL:
        if (this.rxEnable) {
          this.checker.warning(nowNs, 'filter-changed-while-receiving', 'FCTRL', `FCTRL ${hex(old)} -> ${hex(value)} with RXCTRL.RXEN = 1`);
        }
        this.applyFctrl(value);
        return;
      case W.K_SECRXCTRL:
        this.secRxDisabled = (value & R.SECRXCTRL_RX_DIS) !== 0;
        // Section 8.2.3.12.6: SECRX_RDY is set once the security RX path is empty after RX_DIS (at once here)
        this.hwStore(R.SECRXSTAT >>> 2, this.secRxDisabled ? R.SECRXSTAT_SECRX_RDY : 0);
        return;
      case W.K_DMATXCTL:
        this.transmitEnable = (value & R.DMATXCTL_TE) !== 0;
        return;
      case W.K_AUTOC:
        // AN_RESTART self-clears; the simulated link stays up
        if ((value & R.AUTOC_AN_RESTART) !== 0) this.hwUpdate(w, value, value & ~R.AUTOC_AN_RESTART);
        return;
      case W.K_RECEIVE_ADDRESS:
        this.reloadReceiveAddresses();
        return;
      case W.K_RX_RING:
        return this.onRxRingRegister(this.rxQueues[param], w, nowNs);
      case W.K_SRRCTL:
        return this.onSrrctl(this.rxQueues[param], value, nowNs);
      case W.K_DCA_RXCTRL: {
        // Both addresses of DCA_RXCTRL(0..15) are one register
        const q = this.rxQueues[param];
        this.hwStore((q.base + R.DCA_RXCTRL_OFF) >>> 2, value);
        if (param < R.ALIASED_RX_QUEUES) this.hwStore((R.DCA_RXCTRL_ALIAS_BASE >>> 2) + param, value);
        return;
      }
      case W.K_RXDCTL:
        return this.onRxdctl(this.rxQueues[param], old, value, nowNs);
      case W.K_RDH:
        return this.onHead(this.rxQueues[param], 'RDH', value, nowNs);
      case W.K_RDT:
        return this.onRdt(this.rxQueues[param], value, nowNs);
      case W.K_TX_RING:
        return this.onTxRingRegister(this.txQueues[param], w, nowNs);
      case W.K_TXDCTL:
        return this.onTxdctl(this.txQueues[param], old, value, nowNs);
      case W.K_TDH:
        return this.onHead(this.txQueues[param], 'TDH', value, nowNs);
      case W.K_TDT:
        return this.onTdt(this.txQueues[param], value, nowNs);
    }
  }

  // ------------------------------------------------------------------ global registers

  onCtrl(w: number, old: number, value: number, nowNs: number): void {
    if ((value & R.CTRL_RST) !== 0) {
      startReset(this, nowNs);
      return;
    }
    if ((value & R.CTRL_LNK_RST) !== 0) this.hwUpdate(w, value, value & ~R.CTRL_LNK_RST); // link reset: instant
    const disable = (value & R.CTRL_MASTER_DISABLE) !== 0;
    if (!disable && this.masterDisabled) {
      // Drivers set MASTER_DISABLE before CTRL.RST, and the reset clears it. Software clearing it is allowed, but it is
      // also what a reset pulse shorter than a poll interval looks like (RST set and cleared between two polls: the
      // device never saw it; docs/simulator.md, "Sampling limits"): say so, the driver may believe it reset the port.
      this.checker.warning(nowNs, 'reset-pulse-missed', 'CTRL', `CTRL ${hex(old)} -> ${hex(value)}: MASTER_DISABLE cleared without a CTRL.RST the NIC saw`);
    }
    if (disable !== this.masterDisabled) {
      this.masterDisabled = disable;
      // Section 5.2.5.3.2: STATUS.PCIe Master Enable Status clears once no master request is pending (at once here)
      const status = this.regs[R.STATUS >>> 2];
      this.hwStore(R.STATUS >>> 2, disable ? status & ~R.STATUS_PCIE_MASTER_ENABLE_STATUS : status | R.STATUS_PCIE_MASTER_ENABLE_STATUS);
    }
  }

  onRxctrl(value: number, nowNs: number): void {
    const enable = (value & R.RXCTRL_RXEN) !== 0;
    if (enable === this.rxEnable) return;
    this.rxEnable = enable;
    if (!enable) return;
    this.checkCrcStrip(nowNs);
    if (!this.secRxDisabled) {
      this.checker.warning(nowNs, 'rx-enable-without-secrx-halt', 'RXCTRL.RXEN', 'RXEN set while SECRXCTRL.RX_DIS is 0 (Section 4.6.7 halts the security path first)');
    }
    if ((this.regs[R.FCRTH(0) >>> 2] & R.FCRTH_RTH_MASK) === 0) {
      this.checker.warning(nowNs, 'fcrth-not-set', 'FCRTH(0)', 'FCRTH[0].RTH is 0 when receive is enabled');
    }
    if ((this.regs[R.RDRXCTL >>> 2] & R.RDRXCTL_RSCFRSTSIZE_MASK) !== 0) {
      this.checker.warning(nowNs, 'rscfrstsize-not-cleared', 'RDRXCTL.RSCFRSTSIZE', 'RSCFRSTSIZE should be 0 (Section 8.2.3.8.8)');
    }
  }

  checkCrcStrip(nowNs: number): void {
    if (this.rxEnable && this.crcStripMac !== this.crcStripDma) {
      this.checker.violation(
        nowNs,
        'crc-strip-mismatch',
        'RDRXCTL.CRCStrip / HLREG0.RXCRCSTRP',
        `RDRXCTL.CRCStrip = ${this.crcStripDma ? 1 : 0} but HLREG0.RXCRCSTRP = ${this.crcStripMac ? 1 : 0} with RXCTRL.RXEN = 1`,
      );
    }
  }

  applyHlreg0(value: number): void {
    this.txCrc = (value & R.HLREG0_TXCRCEN) !== 0;
    this.crcStripMac = (value & R.HLREG0_RXCRCSTRP) !== 0;
    this.txPad = (value & R.HLREG0_TXPADEN) !== 0;
    this.loopback = (value & R.HLREG0_LPBK) !== 0;
    this.jumbo = (value & R.HLREG0_JUMBOEN) !== 0;
  }

  applyFctrl(value: number): void {
    this.promiscuousUnicast = (value & R.FCTRL_UPE) !== 0;
    this.promiscuousMulticast = (value & R.FCTRL_MPE) !== 0;
    this.acceptBroadcast = (value & R.FCTRL_BAM) !== 0;
  }

  reloadReceiveAddresses(): void {
    const list: number[] = [];
    for (let n = 0; n < 16; n++) {
      const high = this.shadow[R.RAH(n) >>> 2];
      if ((high & R.RAH_AV) !== 0) list.push(this.shadow[R.RAL(n) >>> 2] + (high & 0xffff) * 2 ** 32);
    }
    this.unicastAddresses = list;
  }

  // ------------------------------------------------------------------ receive queue registers

  onRxRingRegister(q: RxQueueState, w: number, nowNs: number): void {
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `${registerName(w * 4)}`, `written ${hex(this.regs[w])} while RXDCTL(${q.index}).ENABLE = 1 (takes effect at the next enabling)`);
    }
  }

  applySrrctl(q: RxQueueState, value: number): void {
    const kb = value & R.SRRCTL_BSIZEPACKET_MASK;
    // Section 8.2.3.8.7: BSIZEPACKET 0 means "use RCTL.BSIZE" in older parts; the 82599 requires 1..16 KB (GUESS: 2 KB)
    q.bufferBytes = (kb === 0 ? 2 : kb) * 1024;
    q.dropEnable = (value & R.SRRCTL_DROP_EN) !== 0;
    q.advanced = ((value & R.SRRCTL_DESCTYPE_MASK) >>> R.SRRCTL_DESCTYPE_SHIFT) === R.SRRCTL_DESCTYPE_ADVANCED_ONE_BUFFER;
  }

  onSrrctl(q: RxQueueState, value: number, nowNs: number): void {
    // Both addresses of SRRCTL(0..15) are one register
    this.hwStore((q.base + R.SRRCTL_OFF) >>> 2, value);
    if (q.index < R.ALIASED_RX_QUEUES) this.hwStore((R.SRRCTL_ALIAS_BASE >>> 2) + q.index, value);
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `SRRCTL(${q.index})`, `written ${hex(value)} while RXDCTL(${q.index}).ENABLE = 1`);
    }
    this.applySrrctl(q, value);
  }

  onRxdctl(q: RxQueueState, old: number, value: number, nowNs: number): void {
    const was = (old & R.XDCTL_ENABLE) !== 0;
    const now = (value & R.XDCTL_ENABLE) !== 0;
    if (was === now) return;
    if (!now) {
      // Section 4.6.7.1.2: the queue stops fetching descriptors (at once here)
      q.disable();
      this.rxEnableRequested[q.index] = 0;
      return;
    }
    this.rxEnableRequested[q.index] = 1;
    // Ring registers written in the same poll interval are taken as written before ENABLE (data-sheet order)
    for (const off of [R.RDBAL_OFF, R.RDBAH_OFF, R.RDLEN_OFF, R.SRRCTL_OFF]) this.refresh(q.base + off, nowNs);
    if (q.index < R.ALIASED_RX_QUEUES) this.refresh(R.SRRCTL_ALIAS_BASE + 4 * q.index, nowNs);
    const b = q.base;
    const phys = this.regs[(b + R.RDBAL_OFF) >>> 2] + this.regs[(b + R.RDBAH_OFF) >>> 2] * 2 ** 32;
    const bytes = this.regs[(b + R.RDLEN_OFF) >>> 2];
    const region = this.checkRing(nowNs, `RXDCTL(${q.index})`, `RDBAL/RDBAH(${q.index})`, `RDLEN(${q.index})`, phys, bytes);
    if (region === null) return;
    q.latch(phys, bytes / 16, region, this.memory.offset);
    this.applySrrctl(q, this.regs[(b + R.SRRCTL_OFF) >>> 2]);
    q.enabled = true;
    q.enabledAtPoll = this.polls;
    q.dcaWarned = false;
    q.head = this.regs[(b + R.RDH_OFF) >>> 2] % q.size;
    q.tail = this.regs[(b + R.RDT_OFF) >>> 2] % q.size;
    q.snapshotRange(q.head, q.tail);
    this.checkBusMaster(nowNs, `RXDCTL(${q.index})`);
  }

  onHead(q: RingState, name: string, value: number, nowNs: number): void {
    if (!q.enabled) return; // latched at enabling
    // Q16/U7: ixy writes RDH right after enabling; accept it as the new head
    this.checker.warning(nowNs, 'head-written-while-enabled', `${name}(${q.index})`, `written ${value} while the queue is enabled`);
    q.head = value % q.size;
    q.unfetched = 0;
    if (q.tail !== q.head) q.snapshotRange(q.head, q.tail);
  }

  onRdt(q: RxQueueState, value: number, nowNs: number): void {
    if (!q.enabled) {
      if (this.rxEnableRequested[q.index] === 0) this.refresh(q.base + R.RXDCTL_OFF, nowNs);
      if (!q.enabled) {
        if (value !== 0 && this.rxEnableRequested[q.index] === 0) {
          this.checker.violation(nowNs, 'rx-tail-before-enable', `RDT(${q.index})`, `RDT written ${value} while RXDCTL(${q.index}).ENABLE is 0`);
        }
        return;
      }
    }
    this.moveTail(q, value, nowNs, 'RDT', 'rx-tail-out-of-ring', 'rx-tail-backwards', false);
  }

  // ------------------------------------------------------------------ transmit queue registers

  onTxRingRegister(q: TxQueueState, w: number, nowNs: number): void {
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `${registerName(w * 4)}`, `written ${hex(this.regs[w])} while TXDCTL(${q.index}).ENABLE = 1 (takes effect at the next enabling)`);
    }
  }

  onTxdctl(q: TxQueueState, old: number, value: number, nowNs: number): void {
    const was = (old & R.XDCTL_ENABLE) !== 0;
    const now = (value & R.XDCTL_ENABLE) !== 0;
    if (was === now) return;
    if (!now) {
      q.disable();
      this.txEnableRequested[q.index] = 0;
      this.activeTx = this.txQueues.filter((t) => t.enabled);
      return;
    }
    this.txEnableRequested[q.index] = 1;
    this.refresh(R.DMATXCTL, nowNs);
    for (const off of [R.TDBAL_OFF, R.TDBAH_OFF, R.TDLEN_OFF, R.TDWBAL_OFF, R.TDWBAH_OFF]) this.refresh(q.base + off, nowNs);
    if (!this.transmitEnable) {
      this.checker.violation(nowNs, 'tx-enable-before-te', `TXDCTL(${q.index})`, 'TXDCTL.ENABLE set while DMATXCTL.TE = 0 (Section 4.6.8: set TE first)');
    }
    const b = q.base;
    const phys = this.regs[(b + R.TDBAL_OFF) >>> 2] + this.regs[(b + R.TDBAH_OFF) >>> 2] * 2 ** 32;
    const bytes = this.regs[(b + R.TDLEN_OFF) >>> 2];
    const region = this.checkRing(nowNs, `TXDCTL(${q.index})`, `TDBAL/TDBAH(${q.index})`, `TDLEN(${q.index})`, phys, bytes);
    if (region === null) return;
    q.latch(phys, bytes / 16, region, this.memory.offset);
    q.headWriteBack = false;
    const wbLow = this.regs[(b + R.TDWBAL_OFF) >>> 2];
    if ((wbLow & R.TDWBAL_HEAD_WB_EN) !== 0) {
      // Section 8.2.3.9.11: bits 31:2 of TDWBAL are the address (the low 2 bits are the enable and a reserved bit)
      const wbPhys = ((wbLow & ~3) >>> 0) + this.regs[(b + R.TDWBAH_OFF) >>> 2] * 2 ** 32;
      if (wbPhys % 16 !== 0) {
        // Q2: the data sheet says dword (7.2.3.5.2) or qword (8.2.3.9.11); TinyNF found only 16-byte aligned addresses
        // work ("write-back has no effect otherwise"): we reproduce that hardware behaviour and flag it.
        this.checker.violation(nowNs, 'head-writeback-misaligned', `TDWBAL(${q.index})`, `head write-back address ${hex(wbPhys)} is not 16-byte aligned; no head will be written`);
      } else {
        const r = this.memory.translate(wbPhys, 4);
        if (r < 0) {
          this.checker.violation(nowNs, 'head-writeback-outside-dma', `TDWBAL/TDWBAH(${q.index})`, `head write-back address ${hex(wbPhys)} is not DMA memory`);
        } else {
          const region2 = this.memory.regions[r];
          q.headWords = wordsOf(region2);
          q.headIndex = this.memory.offset >>> 2;
          q.headBuffer = region2.buffer;
          q.headWriteBack = true;
        }
      }
    }
    q.enabled = true;
    q.enabledAtPoll = this.polls;
    q.head = this.regs[(b + R.TDH_OFF) >>> 2] % q.size;
    q.tail = this.regs[(b + R.TDT_OFF) >>> 2] % q.size;
    q.snapshotRange(q.head, q.tail);
    this.activeTx = this.txQueues.filter((t) => t.enabled);
    this.checkBusMaster(nowNs, `TXDCTL(${q.index})`);
  }

  onTdt(q: TxQueueState, value: number, nowNs: number): void {
    if (!q.enabled) {
      if (this.txEnableRequested[q.index] === 0) this.refresh(q.base + R.TXDCTL_OFF, nowNs);
      if (!q.enabled) {
        if (value !== 0 && this.txEnableRequested[q.index] === 0) {
          this.checker.violation(nowNs, 'tx-tail-before-enable', `TDT(${q.index})`, `TDT written ${value} while TXDCTL(${q.index}).ENABLE is 0`);
        }
        return;
      }
    }
    // Transmit descriptors are fetched by the DMA work of this poll (transmitQueue, RingState.unfetched): a queue
    // that transmits at once reads each descriptor once instead of snapshotting it here and comparing it there.
    // INTERPRETATION (Section 7.2.3.4, transmit descriptor fetching): the NIC fetches descriptors some time after
    // the tail write, and a change software makes before the fetch is simply what it fetches; the observation and
    // the DMA work of one poll are that "some time" (the NIC does nothing else between them).
    this.moveTail(q, value, nowNs, 'TDT', 'tx-tail-out-of-ring', 'tx-tail-backwards', true);
    q.lapSince = -1;
  }

  // ------------------------------------------------------------------ shared queue logic

  /** Check a ring at enabling; returns the region holding it (memory.offset = its byte offset) or null. */
  checkRing(nowNs: number, where: string, baseName: string, lenName: string, phys: number, bytes: number): MemoryRegion | null {
    if (phys === 0 || bytes === 0) {
      this.checker.violation(nowNs, 'queue-enabled-without-ring', where, `enabled with ${baseName} = ${hex(phys)}, ${lenName} = ${bytes}`);
      return null;
    }
    if (phys % 128 !== 0) {
      this.checker.violation(nowNs, 'ring-misaligned', baseName, `ring base ${hex(phys)} is not 128-byte aligned`);
      return null;
    }
    if (bytes % 128 !== 0) {
      this.checker.violation(nowNs, 'ring-length', lenName, `ring length ${bytes} is not a multiple of 128 bytes`);
      return null;
    }
    const r = this.memory.translate(phys, bytes);
    if (r < 0) {
      this.checker.violation(nowNs, 'ring-outside-dma', baseName, `ring [${hex(phys)}, +${bytes}) is not inside DMA memory`);
      return null;
    }
    return this.memory.regions[r];
  }

  /** checkBusMaster for the data path: the report's text is only built when there is something to report. */
  busMasterOk(nowNs: number, kind: 'RX' | 'TX', index: number): boolean {
    if ((this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_BUS_MASTER_ENABLE) !== 0) {
      this.busMasterReported = false;
      return true;
    }
    return this.checkBusMaster(nowNs, `${kind} ring ${index}`);
  }

  checkBusMaster(nowNs: number, where: string): boolean {
    if ((this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_BUS_MASTER_ENABLE) !== 0) {
      this.busMasterReported = false;
      return true;
    }
    if (!this.busMasterReported) {
      this.busMasterReported = true;
      this.checker.violation(nowNs, 'bus-master-disabled', where, 'the queue needs DMA but PCI Command.Bus Master Enable is 0');
    }
    return false;
  }

  /**
   * A tail write on an enabled queue: Sections 7.1.9 / 7.2.3.3 — the NIC owns [head, tail); software may only give
   * it more descriptors (move the tail forward, at most to one before the head: tail == head means "none").
   * The descriptors handed over are fetched (snapshotted, to detect software modifying them while the NIC owns them)
   * now, or with `deferFetch` by this poll's DMA work (RingState.unfetched).
   */
  moveTail(q: RingState, value: number, nowNs: number, name: string, outRule: 'rx-tail-out-of-ring' | 'tx-tail-out-of-ring', backRule: 'rx-tail-backwards' | 'tx-tail-backwards', deferFetch: boolean): void {
    const size = q.size;
    // (the register's name is only built for a report: a tail moves at every poll of the data path)
    if (value >= size) {
      this.checker.violation(nowNs, outRule, `${name}(${q.index})`, `${name} = ${value} but the ring has ${size} descriptors (ignored)`);
      return;
    }
    if (this.sameIntervalStrict && q.enabledAtPoll === this.polls) {
      this.checker.violation(nowNs, 'tail-and-enable-same-poll', `${name}(${q.index})`, `${name} written ${value} before the NIC had seen the queue enabled`);
    }
    // (value - tail) and (head - tail - 1) modulo the ring, without a division: a tail moves at every poll
    let given = value - q.tail;
    if (given < 0) given += size;
    let free = q.head - q.tail - 1;
    if (free < 0) free += size;
    if (given > free) {
      this.checker.violation(nowNs, backRule, `${name}(${q.index})`, `${name} moved ${q.tail} -> ${value} with head ${q.head}: takes back descriptors the NIC owns`);
      q.tail = value;
      q.unfetched = 0;
      q.snapshotRange(q.head, value);
      return;
    }
    if (deferFetch) {
      q.deferFetch(value);
      return;
    }
    q.snapshotRange(q.tail, value);
    q.tail = value;
  }

  // ------------------------------------------------------------------ receive data path (Section 7.1)

  reportModified(q: RingState, kind: string, i: number, nowNs: number): void {
    const d = i * 4;
    const was = `${hex(q.snapshot[d + 1])}_${hex(q.snapshot[d])} ${hex(q.snapshot[d + 3])}_${hex(q.snapshot[d + 2])}`;
    const is = `${hex(q.ring[d + 1])}_${hex(q.ring[d])} ${hex(q.ring[d + 3])}_${hex(q.ring[d + 2])}`;
    this.checker.violation(nowNs, 'descriptor-modified-while-owned', `${kind} ring ${q.index} descriptor ${i}`, `Q0/Q1 were ${was} when handed to the NIC, now ${is}`);
  }

  // ------------------------------------------------------------------ transmit data path (Section 7.2)

  // ------------------------------------------------------------------ statistics registers (nic-statistics.ts)

  /** Statistics-register totals at their last clear (read or reset). */
  readonly statBase = new StatisticsBase();

  /** Mirror the good-packet counters into the statistics registers (counts since their last clear). */
  updateStatisticsRegisters(): void {
    updateStatisticsRegisters(this);
  }

  /** A driver's read of a statistics register: the exact count, cleared by the read (Section 8.2.3.23, RC). */
  readStatistic32(offset: number): number {
    return readStatistic(this, offset);
  }
}

const WORDS = new WeakMap<SharedArrayBuffer, Uint32Array>();

/** A Uint32Array over a region's whole buffer (cached per buffer). */
function wordsOf(region: MemoryRegion): Uint32Array {
  let words = WORDS.get(region.buffer);
  if (words === undefined) {
    words = new Uint32Array(region.buffer, 0, Math.floor(region.buffer.byteLength / 4));
    WORDS.set(region.buffer, words);
  }
  return words;
}


/**
 * One poll of several ports at `nowNs`: every port observes its registers (scanWords as in SimNic.poll), then every
 * port does its DMA work. Returns true if any port had something to do.
 */
export function pollAll(nics: readonly SimNic[], nowNs: number, scanWords = -1): boolean {
  const n = nics.length;
  for (let k = 0; k < n; k++) nics[k].observe(nowNs, scanWords);
  let busy = false;
  for (let k = 0; k < n; k++) {
    const nic = nics[k];
    if (nic.work(nowNs, nic.observedBusy)) busy = true;
  }
  // one release for the poll of all ports: the last port with something to publish releases, after every store
  for (let k = n - 1; k >= 0; k--) {
    if (nics[k].release()) {
      for (let j = 0; j < k; j++) nics[j].releasedWithOthers();
      break;
    }
  }
  return busy;
}
