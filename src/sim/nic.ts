// One simulated 82599 port: a BAR0 register file the driver writes directly (a SharedArrayBuffer, no hooks), which
// the NIC POLLS against a shadow copy, as hardware sees bus writes; hardware-owned bits are written back into the
// register file; a DMA engine moves frames between the wires and the descriptor rings in (shared) physical memory;
// a conformance checker records every data-sheet violation it notices (checker.ts lists the rules).
//
// A register change "happens" at the poll that observes it. Writes landing between two polls are processed in the
// data sheet's order (global registers, then per queue: ring registers, ENABLE, head, tail), see docs/simulator.md.
import { TinyNfError } from '../env/environment';
import { Checker, Violation } from './checker';
import { appendFcs } from './crc32';
import type { MemoryRegion, PhysicalMemory } from './memory';
import * as C from './pci-config';
import { RingState, RxQueueState, TxQueueState } from './queues';
import * as R from './registers';
import { writeResetValues } from './reset';
import type { WireInput, WireOutput } from './wire';

/** Section 8.2.3.1.1: "wait approximately 1 ms after setting [CTRL.RST] before [...] access [to] any other register". */
export const RESET_DURATION_NS = 1_000_000;
/** Largest frame the NIC handles (staging buffers); Section 8.2.3.8.7 allows 16 KB receive buffers. */
export const MAX_FRAME_BYTES = 16 * 1024;
/** Staging bytes per direction (frame + FCS + slack). */
export const STAGING_BYTES = MAX_FRAME_BYTES + 64;
/** Ethernet minimum frame without FCS (64 with it), IEEE 802.3 / Section 8.2.3.22.8 HLREG0.TXPADEN. */
export const MIN_FRAME_BYTES = 60;
export const FCS_BYTES = 4;
/** Preamble + SFD (8) + inter-frame gap (12): 20 bytes of wire time per frame besides the frame itself. */
export const WIRE_OVERHEAD_BYTES = 20;
/**
 * Frames received per poll at most, so a simulator that falls behind its input (a worker thread under a line-rate
 * generator) still interleaves transmission and register scans with reception.
 */
export const RX_BURST = 64;

export interface NicStats {
  rxPackets: number;
  rxBytes: number;
  /** Frames not delivered: no free descriptor (DROP_EN), receive disabled, or filtered out. */
  rxMissed: number;
  /** Of rxMissed: frames the L2 filter rejected. */
  rxFiltered: number;
  /** Of rxMissed: dropped for lack of a descriptor with SRRCTL.DROP_EN (QPRDC). */
  rxNoDescriptor: number;
  /** Of rxMissed: undersize frames (runts, < 64 bytes with FCS) dropped by the MAC (RUC). */
  rxUndersize: number;
  txPackets: number;
  txBytes: number;
  txNullDescriptors: number;
  /** Descriptors whose buffer could not be accessed (see the buffer-address-invalid rule). */
  dmaErrors: number;
}

export type TxPacing = number | 'line-rate' | 'unlimited';

/**
 * An input that can also hand over its next frame's length without writing the frame (TrafficGenerator): when the
 * NIC would drop the frame anyway (receive disabled, or no free descriptor with DROP_EN in promiscuous mode) it
 * skips it, so a saturated receive ring costs no copies.
 */
interface SkippableInput extends WireInput {
  skip(nowNs: number): number;
}

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

// Watch-list kinds: what a change of a watched register means.
const K_CTRL = 1;
const K_READ_ONLY = 2;
const K_EEC = 3;
const K_EIMS = 4;
const K_EIMC = 5;
const K_HLREG0 = 6;
const K_RDRXCTL = 7;
const K_RXCTRL = 8;
const K_FCTRL = 9;
const K_SECRXCTRL = 10;
const K_DMATXCTL = 11;
const K_AUTOC = 12;
const K_RECEIVE_ADDRESS = 13;
const K_RX_RING = 20;
const K_SRRCTL = 21;
const K_DCA_RXCTRL = 22;
const K_RXDCTL = 23;
const K_RDH = 24;
const K_RDT = 25;
const K_TX_RING = 30;
const K_TXDCTL = 31;
const K_TDH = 32;
const K_TDT = 33;

const PACE_UNLIMITED = 0;
const PACE_NS_PER_FRAME = 1;
const PACE_LINE_RATE = 2;

function hex(v: number): string {
  return '0x' + v.toString(16);
}

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
    txPackets: 0,
    txBytes: 0,
    txNullDescriptors: 0,
    dmaErrors: 0,
  };
  /** Polls done, and polls that found nothing to do (the simulator's idle fraction = idlePolls / polls). */
  polls = 0;
  idlePolls = 0;
  readonly checker: Checker;

  private readonly regs: Uint32Array;
  private readonly shadow: Uint32Array;
  /** The register file's reset values (EEPROM-loaded MAC included; CTRL, EEC and RDRXCTL patched per reset). */
  private readonly resetImage: Uint32Array;
  private readonly resetEec: number;
  private readonly resetRdrxctl: number;
  private readonly configWords: Uint32Array;
  private readonly memory: PhysicalMemory;
  private readonly mac: Uint8Array;
  private readonly lanId: number;
  private readonly sameIntervalStrict: boolean;
  private readonly clock: (() => number) | null;

  // Watch list, in processing order
  private readonly watchWords: Int32Array;
  private readonly watchKinds: Uint8Array;
  private readonly watchParams: Int16Array;
  /** Register word -> index in the watch list, or -1. */
  private readonly watchIndexOf: Int32Array;
  private scanCursor = 0;

  readonly rxQueues: RxQueueState[] = [];
  readonly txQueues: TxQueueState[] = [];
  /** Enabled transmit queues (the ones the data path looks at). */
  private activeTx: TxQueueState[] = [];

  // Global state as the NIC last observed it
  private resetting = false;
  private resetEndNs = 0;
  private masterDisabled = false;
  private rxEnable = false;
  private secRxDisabled = false;
  private transmitEnable = false;
  private crcStripMac = true;
  private crcStripDma = false;
  private txPad = true;
  private txCrc = true;
  private loopback = false;
  private promiscuousUnicast = false;
  private promiscuousMulticast = false;
  private acceptBroadcast = false;
  /** Valid receive addresses as 48-bit numbers (RAL | RAH << 32). */
  private unicastAddresses: number[] = [];
  private eims = 0;

  private inputs: WireInput | null = null;
  /** The input again if it can skip frames, else null. */
  private skipInput: SkippableInput | null = null;
  /** The input's largest frame if it declares one (TrafficGenerator.maxFrameLength), else 0: see directRxView. */
  private directMax = 0;
  /** Per descriptor of receive queue 0: the buffer address and a view of it the input can write into directly. */
  private rxSlotPhys = new Float64Array(0);
  private rxSlotViews: (Uint8Array | null)[] = [];
  private outputs: WireOutput[] = [];
  private paceMode = PACE_UNLIMITED;
  private paceNsPerFrame = 0;
  private wireFreeNs = 0;
  private lastPollNs = 0;
  /**
   * Receive side of the wire: busy until this time (ns) with the frames already taken from the input. A frame is
   * taken only when the wire is free, so arrivals never exceed 10 Gb/s whatever the input offers (pcap, queue).
   */
  private rxWireFreeNs = 0;

  // Staging buffers
  private readonly stagingBuffer: SharedArrayBuffer;
  private readonly stagingBytes: Uint8Array;
  private readonly rxStagingOffset: number;
  private readonly txStagingOffset: number;
  /** The receive staging area as the `into` of WireInput.next. */
  private readonly rxInto: Uint8Array;
  private readonly txFrame: Uint8Array;
  /** A received frame waiting for a descriptor (no DROP_EN); its length, or 0. */
  private heldLength = 0;
  /** Bytes of a multi-descriptor transmit frame gathered so far. */
  private txGathered = 0;
  private txGatherIfcs = false;
  /** Reported "bus master disabled" since it was last enabled (one report per episode). */
  private busMasterReported = false;

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
    for (let q = 0; q < R.TX_QUEUES; q++) this.txQueues.push(new TxQueueState(q, R.txQueueBase(q)));

    const watch = buildWatchList();
    this.watchWords = watch.words;
    this.watchKinds = watch.kinds;
    this.watchParams = watch.params;
    this.watchIndexOf = new Int32Array(R.BAR0_WORDS).fill(-1);
    for (let i = 0; i < this.watchWords.length; i++) this.watchIndexOf[this.watchWords[i]] = i;

    if (options.config === undefined || !options.keepRegisters) C.initConfigSpace(this.config, options.bar0Phys ?? 0xf000_0000);
    if (options.keepRegisters) {
      this.shadow.set(this.regs);
      this.reloadState();
    } else {
      this.powerOnReset();
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
    this.directMax = typeof max === 'number' && max > 0 && max <= MAX_FRAME_BYTES ? max : 0;
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
   * by default), then do the DMA work that is due. Returns true if anything happened.
   */
  poll(nowNs: number, scanWords = -1): boolean {
    this.polls++;
    let busy = false;
    if (this.resetting) {
      busy = this.pollDuringReset(nowNs);
      if (this.resetting) {
        this.lastPollNs = nowNs;
        if (!busy) this.idlePolls++;
        return busy;
      }
    }
    // CTRL every poll (a reset must be noticed at once, see startReset), then a window of the watch list
    if (this.regs[R.CTRL >>> 2] !== this.shadow[R.CTRL >>> 2]) {
      this.handle(this.watchIndexOf[R.CTRL >>> 2], nowNs);
      busy = true;
    }
    if (this.resetting) {
      this.lastPollNs = nowNs;
      return true;
    }
    if (this.scan(nowNs, scanWords)) busy = true;
    if (this.scanActiveTails(nowNs)) busy = true;
    if (this.receive(nowNs)) busy = true;
    if (this.transmit(nowNs)) busy = true;
    this.lastPollNs = nowNs;
    if (!busy) this.idlePolls++;
    return busy;
  }

  /** Only the data path (no control-register scan): what an inline step between driver actions needs. */
  pollDataPath(nowNs: number): boolean {
    this.polls++;
    let busy = false;
    if (this.resetting) {
      busy = this.pollDuringReset(nowNs);
    } else {
      busy = this.scanActiveTails(nowNs);
      if (this.receive(nowNs)) busy = true;
      if (this.transmit(nowNs)) busy = true;
    }
    this.lastPollNs = nowNs;
    if (!busy) this.idlePolls++;
    return busy;
  }

  /** Receive a frame as if it came from the wire now (bypassing the input; used by loopback and tests). */
  injectFrame(frame: Uint8Array, length: number, nowNs: number): void {
    if (this.heldLength !== 0) return;
    this.rxInto.set(frame.subarray(0, length));
    this.deliver(length, nowNs);
    this.publishRxHead();
  }

  // ------------------------------------------------------------------ reset

  private powerOnReset(): void {
    writeResetValues(this.regs, this.mac, this.lanId);
    this.regs[R.EEC >>> 2] |= R.EEC_AUTO_RD;
    this.regs[R.RDRXCTL >>> 2] |= R.RDRXCTL_DMAIDONE;
    this.shadow.set(this.regs);
    this.clearState();
    this.reloadState();
  }

  /**
   * Section 4.2.1.6.1 Software Reset: registers to reset values, queues disabled, rings forgotten.
   *
   * The driver may be writing registers while this runs (worker and standalone modes): every word is moved to its
   * reset value with a compare-and-swap from the value just read, so a driver write landing meanwhile is never
   * overwritten; the shadow then holds the reset value, and the scan sees the driver's value as a write (during the
   * reset: a violation; after it: handled as any write).
   */
  private startReset(nowNs: number): void {
    if (!this.masterDisabled) {
      this.checker.warning(nowNs, 'reset-without-master-disable', 'CTRL.RST', 'CTRL.RST without CTRL.MASTER_DISABLE and STATUS.PCIe Master Enable Status = 0 first');
    }
    // CTRL is looked at every poll, so CTRL.RST was written after the previous poll. Normally that was microseconds
    // ago. If the simulator did not poll for a whole reset duration (a worker or standalone thread descheduled by the
    // OS, never the inline machine), the reset may already be over from the driver's point of view, and a driver
    // that waited as Section 8.2.3.1.1 says has gone on writing registers: those writes, seen now together with
    // CTRL.RST, are taken as made after the reset (INTERPRETATION: the order is unknowable; we favour a driver that
    // waited rather than wiping its configuration), and a warning says the simulator stalled. Without a stall, writes
    // seen together with CTRL.RST are taken as made before it (a driver must not write during the reset), and reset.
    // The gap since the previous poll, measured with the real clock if there is one: the thread may have been
    // descheduled after reading the clock for this poll, and then `nowNs` is older than the registers it sees.
    const gap = (this.clock !== null ? Math.max(nowNs, this.clock()) : nowNs) - this.lastPollNs;
    const stalled = this.lastPollNs > 0 && gap >= RESET_DURATION_NS;
    const regs = this.regs;
    const shadow = this.shadow;
    const image = this.resetImage;
    const wCtrl = R.CTRL >>> 2;
    const wEec = R.EEC >>> 2;
    const wRdrxctl = R.RDRXCTL >>> 2;
    // CTRL.RST reads 1 until the reset completes; EEC.AUTO_RD and RDRXCTL.DMAIDONE read 0 until then (after a stall
    // the reset is already complete).
    image[wCtrl] = stalled ? 0 : R.CTRL_RST;
    image[wEec] = (this.resetEec | (stalled ? R.EEC_AUTO_RD : 0)) >>> 0;
    image[wRdrxctl] = (this.resetRdrxctl | (stalled ? R.RDRXCTL_DMAIDONE : 0)) >>> 0;
    let kept = 0;
    for (let w = 0; w < R.BAR0_WORDS; w++) {
      if (w === wCtrl) continue; // last, below: a driver that sees CTRL.RST clear must see the whole reset
      const want = image[w];
      const value = regs[w];
      if (stalled && value !== shadow[w]) {
        kept++; // the driver's write, made after the reset: left for the scan
      } else if (value !== want) {
        Atomics.compareExchange(regs, w, value | 0, want | 0); // fails only if the driver just wrote: then kept too
      }
      shadow[w] = want;
    }
    const ctrl = regs[wCtrl];
    if (ctrl !== image[wCtrl]) Atomics.compareExchange(regs, wCtrl, ctrl | 0, image[wCtrl] | 0);
    shadow[wCtrl] = image[wCtrl];
    if (kept > 0) {
      this.checker.warning(
        nowNs,
        'simulator-stalled',
        'CTRL.RST',
        `no poll for ${(gap / 1000).toFixed(0)} us: CTRL.RST taken as written then, the ${kept} register writes seen with it as made after the reset`,
      );
    }
    this.clearState();
    this.reloadState();
    this.resetting = !stalled;
    this.resetEndNs = (stalled ? this.lastPollNs : nowNs) + RESET_DURATION_NS;
  }

  private pollDuringReset(nowNs: number): boolean {
    // A write seen at the first poll after the reset's end was made since the previous poll, possibly after the end:
    // INTERPRETATION: not a violation (the reset ends and the write is handled as any other). This only matters to
    // a simulator that does not poll for a while (worker/standalone): the inline machine polls as soon as the driver
    // has written.
    if (nowNs >= this.resetEndNs) {
      this.finishReset();
      return true;
    }
    // Any register write during the reset is a violation (and has no effect): compare the whole register file.
    const regs = this.regs;
    const shadow = this.shadow;
    for (let w = 0; w < R.BAR0_WORDS; w++) {
      if (regs[w] !== shadow[w]) {
        this.checker.violation(nowNs, 'write-during-reset', registerName(w * 4), `written ${hex(regs[w])} ${((nowNs - (this.resetEndNs - RESET_DURATION_NS)) / 1000).toFixed(1)} us after CTRL.RST`);
        regs[w] = shadow[w];
      }
    }
    return false;
  }

  /** The end of a reset: CTRL.RST self-clears; EEPROM auto-read and DMA initialisation are done. */
  private finishReset(): void {
    this.resetting = false;
    // Compare-and-swap from the value the NIC holds: a driver write landing meanwhile (possible only after a stall)
    // stays, and the scan handles it, keeping the hardware-owned bits (EEC, RDRXCTL handlers).
    const finish = (w: number, value: number) => {
      Atomics.compareExchange(this.regs, w, this.shadow[w] | 0, value | 0);
      this.shadow[w] = value >>> 0;
    };
    // EEPROM auto-read and DMA initialisation complete at once (U8: the delays are unspecified)
    finish(R.EEC >>> 2, this.shadow[R.EEC >>> 2] | R.EEC_AUTO_RD);
    finish(R.RDRXCTL >>> 2, this.shadow[R.RDRXCTL >>> 2] | R.RDRXCTL_DMAIDONE);
    // CTRL.RST clears last: whoever sees it clear sees the rest of the reset done
    finish(R.CTRL >>> 2, 0);
  }

  private clearState(): void {
    for (const q of this.rxQueues) {
      q.disable();
      q.head = 0;
      q.tail = 0;
    }
    for (const q of this.txQueues) {
      q.disable();
      q.head = 0;
      q.tail = 0;
      q.headWriteBack = false;
    }
    this.rxEnableRequested.fill(0);
    this.txEnableRequested.fill(0);
    this.activeTx = [];
    this.heldLength = 0;
    this.txGathered = 0;
    this.eims = 0;
  }

  private readonly rxEnableRequested = new Uint8Array(R.RX_QUEUES);
  private readonly txEnableRequested = new Uint8Array(R.TX_QUEUES);

  /** Derive the global state from the register file (after a reset or when adopting an existing one). */
  private reloadState(): void {
    // from the shadow: what the NIC has seen (a driver write not yet scanned is handled as a write when it is)
    const r = (offset: number) => this.shadow[offset >>> 2];
    this.masterDisabled = (r(R.CTRL) & R.CTRL_MASTER_DISABLE) !== 0;
    this.rxEnable = (r(R.RXCTRL) & R.RXCTRL_RXEN) !== 0;
    this.secRxDisabled = (r(R.SECRXCTRL) & R.SECRXCTRL_RX_DIS) !== 0;
    this.transmitEnable = (r(R.DMATXCTL) & R.DMATXCTL_TE) !== 0;
    this.applyHlreg0(r(R.HLREG0));
    this.crcStripDma = (r(R.RDRXCTL) & R.RDRXCTL_CRCSTRIP) !== 0;
    this.applyFctrl(r(R.FCTRL));
    this.reloadReceiveAddresses();
    for (const q of this.rxQueues) this.applySrrctl(q, r(q.base + R.SRRCTL_OFF));
  }

  // ------------------------------------------------------------------ register scanning

  /** Store a hardware-written value (register file and shadow agree, so it is not mistaken for a driver write). */
  private hwStore(w: number, value: number): void {
    Atomics.store(this.regs, w, value >>> 0);
    this.shadow[w] = value >>> 0;
  }

  /**
   * Update hardware-owned bits of a register software also writes: compare-and-swap from the value last seen, so a
   * concurrent driver write is not lost (it is then seen, and handled, at the next scan).
   */
  private hwUpdate(w: number, seen: number, value: number): void {
    if (Atomics.compareExchange(this.regs, w, seen | 0, value | 0) >>> 0 === seen >>> 0) this.shadow[w] = value >>> 0;
  }

  private scan(nowNs: number, count: number): boolean {
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
  private refresh(offset: number, nowNs: number): void {
    const w = offset >>> 2;
    const i = this.watchIndexOf[w];
    if (i >= 0 && this.regs[w] !== this.shadow[w]) this.handle(i, nowNs);
  }

  /** Tails of enabled queues: every poll (the fast path of the driver writes them). */
  private scanActiveTails(nowNs: number): boolean {
    let changed = false;
    const q0 = this.rxQueues[0];
    if (q0.enabled) {
      const w = (q0.base + R.RDT_OFF) >>> 2;
      if (this.regs[w] !== this.shadow[w]) {
        this.handle(this.watchIndexOf[w], nowNs);
        changed = true;
      }
    }
    const active = this.activeTx;
    for (let k = 0; k < active.length; k++) {
      const w = (active[k].base + R.TDT_OFF) >>> 2;
      if (this.regs[w] !== this.shadow[w]) {
        this.handle(this.watchIndexOf[w], nowNs);
        changed = true;
      }
    }
    return changed;
  }

  private handle(i: number, nowNs: number): void {
    const w = this.watchWords[i];
    const old = this.shadow[w];
    const value = Atomics.load(this.regs, w) >>> 0;
    if (value === old) return;
    this.shadow[w] = value;
    if ((this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_MEMORY_ACCESS_ENABLE) === 0) {
      this.checker.violation(nowNs, 'memory-access-disabled', registerName(w * 4), `written ${hex(value)} while PCI Command.Memory Access Enable is 0`);
    }
    const param = this.watchParams[i];
    switch (this.watchKinds[i]) {
      case K_CTRL:
        return this.onCtrl(w, value, nowNs);
      case K_READ_ONLY:
        this.hwStore(w, old);
        return;
      case K_EEC: {
        const fixed = ((value & ~(R.EEC_AUTO_RD | R.EEC_EE_PRES)) | (old & (R.EEC_AUTO_RD | R.EEC_EE_PRES))) >>> 0;
        if (fixed !== value) this.hwUpdate(w, value, fixed);
        return;
      }
      case K_EIMS:
        // Section 8.2.3.5.3: writing 1 sets the mask bit; writing 0 has no effect
        this.eims = (this.eims | value) >>> 0;
        if (this.eims !== value) this.hwUpdate(w, value, this.eims);
        return;
      case K_EIMC:
        // Section 8.2.3.5.4: writing 1 clears the EIMS bit (EIMC(1)/(2) map to EIMS_EX, not modelled: storage)
        if (w === R.EIMC >>> 2) {
          this.eims = (this.eims & ~value) >>> 0;
          this.hwStore(R.EIMS >>> 2, this.eims);
        }
        this.hwUpdate(w, value, 0);
        return;
      case K_HLREG0:
        this.applyHlreg0(value);
        this.checkCrcStrip(nowNs);
        return;
      case K_RDRXCTL: {
        // DMAIDONE (bit 3) is hardware-owned: set unless a reset is in progress
        const fixed = (value | R.RDRXCTL_DMAIDONE) >>> 0;
        if (fixed !== value) this.hwUpdate(w, value, fixed);
        this.crcStripDma = (value & R.RDRXCTL_CRCSTRIP) !== 0;
        this.checkCrcStrip(nowNs);
        return;
      }
      case K_RXCTRL:
        return this.onRxctrl(value, nowNs);
      case K_FCTRL:
        if (this.rxEnable) {
          this.checker.warning(nowNs, 'filter-changed-while-receiving', 'FCTRL', `FCTRL ${hex(old)} -> ${hex(value)} with RXCTRL.RXEN = 1`);
        }
        this.applyFctrl(value);
        return;
      case K_SECRXCTRL:
        this.secRxDisabled = (value & R.SECRXCTRL_RX_DIS) !== 0;
        // Section 8.2.3.12.6: SECRX_RDY is set once the security RX path is empty after RX_DIS (at once here)
        this.hwStore(R.SECRXSTAT >>> 2, this.secRxDisabled ? R.SECRXSTAT_SECRX_RDY : 0);
        return;
      case K_DMATXCTL:
        this.transmitEnable = (value & R.DMATXCTL_TE) !== 0;
        return;
      case K_AUTOC:
        // AN_RESTART self-clears; the simulated link stays up
        if ((value & R.AUTOC_AN_RESTART) !== 0) this.hwUpdate(w, value, value & ~R.AUTOC_AN_RESTART);
        return;
      case K_RECEIVE_ADDRESS:
        this.reloadReceiveAddresses();
        return;
      case K_RX_RING:
        return this.onRxRingRegister(this.rxQueues[param], w, nowNs);
      case K_SRRCTL:
        return this.onSrrctl(this.rxQueues[param], value, nowNs);
      case K_DCA_RXCTRL: {
        // Both addresses of DCA_RXCTRL(0..15) are one register
        const q = this.rxQueues[param];
        this.hwStore((q.base + R.DCA_RXCTRL_OFF) >>> 2, value);
        if (param < R.ALIASED_RX_QUEUES) this.hwStore((R.DCA_RXCTRL_ALIAS_BASE >>> 2) + param, value);
        return;
      }
      case K_RXDCTL:
        return this.onRxdctl(this.rxQueues[param], old, value, nowNs);
      case K_RDH:
        return this.onHead(this.rxQueues[param], 'RDH', value, nowNs);
      case K_RDT:
        return this.onRdt(this.rxQueues[param], value, nowNs);
      case K_TX_RING:
        return this.onTxRingRegister(this.txQueues[param], w, nowNs);
      case K_TXDCTL:
        return this.onTxdctl(this.txQueues[param], old, value, nowNs);
      case K_TDH:
        return this.onHead(this.txQueues[param], 'TDH', value, nowNs);
      case K_TDT:
        return this.onTdt(this.txQueues[param], value, nowNs);
    }
  }

  // ------------------------------------------------------------------ global registers

  private onCtrl(w: number, value: number, nowNs: number): void {
    if ((value & R.CTRL_RST) !== 0) {
      this.startReset(nowNs);
      return;
    }
    if ((value & R.CTRL_LNK_RST) !== 0) this.hwUpdate(w, value, value & ~R.CTRL_LNK_RST); // link reset: instant
    const disable = (value & R.CTRL_MASTER_DISABLE) !== 0;
    if (disable !== this.masterDisabled) {
      this.masterDisabled = disable;
      // Section 5.2.5.3.2: STATUS.PCIe Master Enable Status clears once no master request is pending (at once here)
      const status = this.regs[R.STATUS >>> 2];
      this.hwStore(R.STATUS >>> 2, disable ? status & ~R.STATUS_PCIE_MASTER_ENABLE_STATUS : status | R.STATUS_PCIE_MASTER_ENABLE_STATUS);
    }
  }

  private onRxctrl(value: number, nowNs: number): void {
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

  private checkCrcStrip(nowNs: number): void {
    if (this.rxEnable && this.crcStripMac !== this.crcStripDma) {
      this.checker.violation(
        nowNs,
        'crc-strip-mismatch',
        'RDRXCTL.CRCStrip / HLREG0.RXCRCSTRP',
        `RDRXCTL.CRCStrip = ${this.crcStripDma ? 1 : 0} but HLREG0.RXCRCSTRP = ${this.crcStripMac ? 1 : 0} with RXCTRL.RXEN = 1`,
      );
    }
  }

  private applyHlreg0(value: number): void {
    this.txCrc = (value & R.HLREG0_TXCRCEN) !== 0;
    this.crcStripMac = (value & R.HLREG0_RXCRCSTRP) !== 0;
    this.txPad = (value & R.HLREG0_TXPADEN) !== 0;
    this.loopback = (value & R.HLREG0_LPBK) !== 0;
  }

  private applyFctrl(value: number): void {
    this.promiscuousUnicast = (value & R.FCTRL_UPE) !== 0;
    this.promiscuousMulticast = (value & R.FCTRL_MPE) !== 0;
    this.acceptBroadcast = (value & R.FCTRL_BAM) !== 0;
  }

  private reloadReceiveAddresses(): void {
    const list: number[] = [];
    for (let n = 0; n < 16; n++) {
      const high = this.shadow[R.RAH(n) >>> 2];
      if ((high & R.RAH_AV) !== 0) list.push(this.shadow[R.RAL(n) >>> 2] + (high & 0xffff) * 2 ** 32);
    }
    this.unicastAddresses = list;
  }

  // ------------------------------------------------------------------ receive queue registers

  private onRxRingRegister(q: RxQueueState, w: number, nowNs: number): void {
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `${registerName(w * 4)}`, `written ${hex(this.regs[w])} while RXDCTL(${q.index}).ENABLE = 1 (takes effect at the next enabling)`);
    }
  }

  private applySrrctl(q: RxQueueState, value: number): void {
    const kb = value & R.SRRCTL_BSIZEPACKET_MASK;
    // Section 8.2.3.8.7: BSIZEPACKET 0 means "use RCTL.BSIZE" in older parts; the 82599 requires 1..16 KB (GUESS: 2 KB)
    q.bufferBytes = (kb === 0 ? 2 : kb) * 1024;
    q.dropEnable = (value & R.SRRCTL_DROP_EN) !== 0;
    q.advanced = ((value & R.SRRCTL_DESCTYPE_MASK) >>> R.SRRCTL_DESCTYPE_SHIFT) === R.SRRCTL_DESCTYPE_ADVANCED_ONE_BUFFER;
  }

  private onSrrctl(q: RxQueueState, value: number, nowNs: number): void {
    // Both addresses of SRRCTL(0..15) are one register
    this.hwStore((q.base + R.SRRCTL_OFF) >>> 2, value);
    if (q.index < R.ALIASED_RX_QUEUES) this.hwStore((R.SRRCTL_ALIAS_BASE >>> 2) + q.index, value);
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `SRRCTL(${q.index})`, `written ${hex(value)} while RXDCTL(${q.index}).ENABLE = 1`);
    }
    this.applySrrctl(q, value);
  }

  private onRxdctl(q: RxQueueState, old: number, value: number, nowNs: number): void {
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
    if (q.index === 0) {
      this.rxSlotPhys = new Float64Array(q.size).fill(-1);
      this.rxSlotViews = new Array<Uint8Array | null>(q.size).fill(null);
    }
    this.applySrrctl(q, this.regs[(b + R.SRRCTL_OFF) >>> 2]);
    q.enabled = true;
    q.enabledAtPoll = this.polls;
    q.dcaWarned = false;
    q.head = this.regs[(b + R.RDH_OFF) >>> 2] % q.size;
    q.tail = this.regs[(b + R.RDT_OFF) >>> 2] % q.size;
    q.snapshotRange(q.head, q.tail);
    this.checkBusMaster(nowNs, `RXDCTL(${q.index})`);
  }

  private onHead(q: RingState, name: string, value: number, nowNs: number): void {
    if (!q.enabled) return; // latched at enabling
    // Q16/U7: ixy writes RDH right after enabling; accept it as the new head
    this.checker.warning(nowNs, 'head-written-while-enabled', `${name}(${q.index})`, `written ${value} while the queue is enabled`);
    q.head = value % q.size;
    if (q.tail !== q.head) q.snapshotRange(q.head, q.tail);
  }

  private onRdt(q: RxQueueState, value: number, nowNs: number): void {
    if (!q.enabled) {
      if (this.rxEnableRequested[q.index] === 0) this.refresh(q.base + R.RXDCTL_OFF, nowNs);
      if (!q.enabled) {
        if (value !== 0 && this.rxEnableRequested[q.index] === 0) {
          this.checker.violation(nowNs, 'rx-tail-before-enable', `RDT(${q.index})`, `RDT written ${value} while RXDCTL(${q.index}).ENABLE is 0`);
        }
        return;
      }
    }
    this.moveTail(q, value, nowNs, 'RDT', 'rx-tail-out-of-ring', 'rx-tail-backwards');
  }

  // ------------------------------------------------------------------ transmit queue registers

  private onTxRingRegister(q: TxQueueState, w: number, nowNs: number): void {
    if (q.enabled) {
      this.checker.violation(nowNs, 'ring-registers-while-enabled', `${registerName(w * 4)}`, `written ${hex(this.regs[w])} while TXDCTL(${q.index}).ENABLE = 1 (takes effect at the next enabling)`);
    }
  }

  private onTxdctl(q: TxQueueState, old: number, value: number, nowNs: number): void {
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

  private onTdt(q: TxQueueState, value: number, nowNs: number): void {
    if (!q.enabled) {
      if (this.txEnableRequested[q.index] === 0) this.refresh(q.base + R.TXDCTL_OFF, nowNs);
      if (!q.enabled) {
        if (value !== 0 && this.txEnableRequested[q.index] === 0) {
          this.checker.violation(nowNs, 'tx-tail-before-enable', `TDT(${q.index})`, `TDT written ${value} while TXDCTL(${q.index}).ENABLE is 0`);
        }
        return;
      }
    }
    this.moveTail(q, value, nowNs, 'TDT', 'tx-tail-out-of-ring', 'tx-tail-backwards');
  }

  // ------------------------------------------------------------------ shared queue logic

  /** Check a ring at enabling; returns the region holding it (memory.offset = its byte offset) or null. */
  private checkRing(nowNs: number, where: string, baseName: string, lenName: string, phys: number, bytes: number): MemoryRegion | null {
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
  private busMasterOk(nowNs: number, kind: 'RX' | 'TX', index: number): boolean {
    if ((this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_BUS_MASTER_ENABLE) !== 0) {
      this.busMasterReported = false;
      return true;
    }
    return this.checkBusMaster(nowNs, `${kind} ring ${index}`);
  }

  private checkBusMaster(nowNs: number, where: string): boolean {
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
   */
  private moveTail(q: RingState, value: number, nowNs: number, name: string, outRule: 'rx-tail-out-of-ring' | 'tx-tail-out-of-ring', backRule: 'rx-tail-backwards' | 'tx-tail-backwards'): void {
    const size = q.size;
    const where = `${name}(${q.index})`;
    if (value >= size) {
      this.checker.violation(nowNs, outRule, where, `${name} = ${value} but the ring has ${size} descriptors (ignored)`);
      return;
    }
    if (this.sameIntervalStrict && q.enabledAtPoll === this.polls) {
      this.checker.violation(nowNs, 'tail-and-enable-same-poll', where, `${name} written ${value} before the NIC had seen the queue enabled`);
    }
    const given = (value - q.tail + size) % size;
    const free = (q.head - q.tail - 1 + 2 * size) % size;
    if (given > free) {
      this.checker.violation(nowNs, backRule, where, `${name} moved ${q.tail} -> ${value} with head ${q.head}: takes back descriptors the NIC owns`);
      q.tail = value;
      q.snapshotRange(q.head, value);
      return;
    }
    q.snapshotRange(q.tail, value);
    q.tail = value;
  }

  // ------------------------------------------------------------------ receive data path (Section 7.1)

  /** Whether receive is possible at all now (Section 4.6.7: RXCTRL.RXEN, security path, bus mastering, queue 0). */
  private receiving(): boolean {
    return this.rxEnable && !this.secRxDisabled && !this.masterDisabled && this.rxQueues[0].enabled;
  }

  private receive(nowNs: number): boolean {
    if (!this.receiveFrames(nowNs)) return false;
    this.publishRxHead();
    return true;
  }

  /** Write queue 0's head to RDH (once per batch of received frames, not per frame). */
  private publishRxHead(): void {
    const q = this.rxQueues[0];
    const w = (q.base + R.RDH_OFF) >>> 2;
    if (q.enabled && this.shadow[w] !== q.head) this.hwStore(w, q.head);
  }

  private receiveFrames(nowNs: number): boolean {
    const input = this.inputs;
    let busy = false;
    if (this.heldLength !== 0) {
      if (!this.deliver(this.heldLength, nowNs)) return false;
      busy = true;
    }
    if (input === null) return busy;
    const skipper = this.skipInput;
    const directMax = this.directMax;
    const q = this.rxQueues[0];
    // Loop invariants (no register is looked at during the loop): the frame-independent parts of deliver()'s choices
    const receiving = this.receiving();
    const accepting = this.promiscuousUnicast && this.promiscuousMulticast;
    const canSkip = skipper !== null && (!receiving || (accepting && q.dropEnable));
    const canDirect = directMax !== 0 && receiving && accepting && this.directRxPossible(directMax);
    let dropped = 0;
    for (let budget = RX_BURST; budget > 0; budget--) {
      // 10 Gb/s line rate (IEEE 802.3; Section 1 of the data sheet: 10 GbE): the next frame can only start arriving
      // once the previous one has been serialised. ASSUMPTION: a frame is delivered at its start of arrival, no
      // earlier than the previous poll (frames due between two polls arrive, back to back, within that interval).
      if (this.rxWireFreeNs > nowNs) break;
      // Dropped whatever the frame: receive off, or (promiscuous, DROP_EN) no free descriptor
      const drop = canSkip && (!receiving || q.tail === q.head);
      const direct = drop || !canDirect || q.tail === q.head ? null : this.directRxView(q, directMax);
      const length = drop ? skipper.skip(nowNs) : input.next(direct === null ? this.rxInto : direct, nowNs);
      if (length === 0) break;
      const arrival = this.rxWireFreeNs > this.lastPollNs ? this.rxWireFreeNs : this.lastPollNs;
      this.rxWireFreeNs = arrival + ((length < MIN_FRAME_BYTES ? MIN_FRAME_BYTES : length) + FCS_BYTES + WIRE_OVERHEAD_BYTES) * 0.8;
      busy = true;
      if (drop) {
        dropped++;
      } else if (direct !== null) {
        this.completeDirectRx(length);
      } else if (!this.deliver(length, nowNs)) {
        break;
      }
    }
    if (dropped !== 0) this.countDropped(dropped);
    return busy;
  }

  /**
   * Count `n` frames dropped unread, as deliver() would have (the reason cannot have changed within one
   * receiveFrames call: no register is looked at meanwhile).
   */
  private countDropped(n: number): void {
    this.stats.rxMissed += n;
    if (!this.receiving()) {
      this.hwStore(R.MPC(0) >>> 2, this.regs[R.MPC(0) >>> 2] + n);
      return;
    }
    this.stats.rxNoDescriptor += n;
    this.hwStore(R.QPRDC(0) >>> 2, this.regs[R.QPRDC(0) >>> 2] + n);
  }

  /**
   * Deliver the frame in the receive staging area to queue 0 (no RSS/VMDq/filters that steer: Section 7.1.2).
   * Returns false if the frame is held (no descriptor and no DROP_EN: it waits, and the input is not read further).
   */
  private deliver(length: number, nowNs: number): boolean {
    this.heldLength = 0;
    if (!this.receiving()) {
      this.stats.rxMissed++;
      this.countMissed();
      return true;
    }
    if (!this.accept()) {
      this.stats.rxMissed++;
      this.stats.rxFiltered++;
      return true;
    }
    if (length < MIN_FRAME_BYTES) {
      // A runt (< 64 bytes with the FCS; wire frames exclude it): counted in RUC and dropped (Section 8.2.3.23, RUC;
      // IEEE 802.3 minimum frame size). Real transmitters pad (HLREG0.TXPADEN here; the TAP and pcap inputs too), so
      // runts only come from inputs that hand over short frames as they are (e.g. QueueInput in tests).
      this.stats.rxMissed++;
      this.stats.rxUndersize++;
      this.hwStore(R.RUC >>> 2, this.regs[R.RUC >>> 2] + 1);
      return true;
    }
    const q = this.rxQueues[0];
    // Section 8.2.3.8.8 / 8.2.3.22.8: without CRC stripping the FCS is written to memory after the frame
    let total = length;
    const strip = this.crcStripMac;
    if (!strip) {
      appendFcs(this.stagingBytes, this.rxStagingOffset, length);
      total += FCS_BYTES;
    }
    const bufferBytes = q.bufferBytes;
    const needed = total <= bufferBytes ? 1 : Math.ceil(total / bufferBytes);
    if (q.owned < needed) {
      if (q.dropEnable) {
        // Section 8.2.3.8.7 SRRCTL.DROP_EN: dropped when no descriptor is available (QPRDC counts it)
        this.stats.rxMissed++;
        this.stats.rxNoDescriptor++;
        this.hwStore(R.QPRDC(0) >>> 2, this.regs[R.QPRDC(0) >>> 2] + 1);
        return true;
      }
      this.heldLength = length;
      return false;
    }
    if (!this.busMasterOk(nowNs, 'RX', q.index)) {
      this.stats.rxMissed++;
      return true;
    }
    if (!q.dcaWarned && (this.regs[(q.base + R.DCA_RXCTRL_OFF) >>> 2] & R.DCA_RXCTRL_BIT12) !== 0) {
      q.dcaWarned = true;
      this.checker.warning(nowNs, 'dca-rxctrl-bit12', `DCA_RXCTRL(${q.index})`, 'bit 12 is still 1 while the queue receives');
    }
    const ring = q.ring;
    const memory = this.memory;
    let done = 0;
    while (done < total) {
      const i = q.head;
      const d = i * 4;
      if (!q.unchanged(i)) this.reportModified(q, 'RX', i, nowNs);
      const chunk = total - done < bufferBytes ? total - done : bufferBytes;
      const phys = ring[d] + ring[d + 1] * 4294967296;
      const r = phys === 0 ? -1 : memory.translate(phys, chunk);
      if (r < 0) {
        this.stats.dmaErrors++;
        this.checker.violation(nowNs, 'buffer-address-invalid', `RX ring ${q.index} descriptor ${i}`, `buffer address ${hex(phys)} (+${chunk} bytes) is not DMA memory; frame data lost`);
      } else {
        this.copyFromStaging(memory.regions[r], memory.offset, this.rxStagingOffset + done, chunk);
      }
      done += chunk;
      writeBackRx(q, d, chunk, done >= total);
      q.head = i + 1 === q.size ? 0 : i + 1;
    }
    this.stats.rxPackets++;
    // Section 8.2.3.23.22: octets from the destination address to the CRC, inclusive
    this.stats.rxBytes += length + FCS_BYTES;
    return true;
  }

  /**
   * Whether (with receive on and every frame accepted) deliver() would put any frame of the input whole into the
   * buffer of the next free descriptor of queue 0 with nothing to report: CRC stripped, the input's largest frame
   * fits a buffer, bus mastering on, no pending DCA_RXCTRL warning. Then the input writes the frame straight into that
   * buffer (directRxView), with no staging copy.
   */
  private directRxPossible(max: number): boolean {
    const q = this.rxQueues[0];
    if (!this.crcStripMac || max > q.bufferBytes || (this.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_BUS_MASTER_ENABLE) === 0) return false;
    return q.dcaWarned || (this.regs[(q.base + R.DCA_RXCTRL_OFF) >>> 2] & R.DCA_RXCTRL_BIT12) === 0;
  }

  /**
   * The buffer of the descriptor at the head of queue 0 (which the NIC owns) as a view the input can write into, or
   * null if the descriptor was modified or its buffer is not DMA memory (deliver() then reports it).
   */
  private directRxView(q: RxQueueState, max: number): Uint8Array | null {
    const i = q.head;
    if (!q.unchanged(i)) return null;
    const ring = q.ring;
    const d = i * 4;
    const phys = ring[d] + ring[d + 1] * 4294967296;
    if (this.rxSlotPhys[i] === phys) {
      const view = this.rxSlotViews[i];
      if (view !== null && view.length >= max) return view;
    }
    if (phys === 0) return null;
    const memory = this.memory;
    const r = memory.translate(phys, max);
    if (r < 0) return null;
    const view = new Uint8Array(memory.regions[r].buffer, memory.offset, max);
    this.rxSlotPhys[i] = phys;
    this.rxSlotViews[i] = view;
    return view;
  }

  /** The input wrote a frame of `length` bytes into directRxView()'s buffer: complete the descriptor. */
  private completeDirectRx(length: number): void {
    const q = this.rxQueues[0];
    const i = q.head;
    writeBackRx(q, i * 4, length, true);
    q.head = i + 1 === q.size ? 0 : i + 1;
    this.stats.rxPackets++;
    this.stats.rxBytes += length + FCS_BYTES;
  }

  private countMissed(): void {
    this.hwStore(R.MPC(0) >>> 2, this.regs[R.MPC(0) >>> 2] + 1);
  }

  /** Section 7.1.1.1 L2 filtering: promiscuous bits, broadcast (BAM/MPE), exact unicast match against RAL/RAH. */
  private accept(): boolean {
    const b = this.stagingBytes;
    const o = this.rxStagingOffset;
    if ((b[o] & 1) !== 0) {
      const broadcast = (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
      // Multicast hash filtering (MTA) is not modelled: only MPE accepts multicast
      return broadcast ? this.acceptBroadcast || this.promiscuousMulticast : this.promiscuousMulticast;
    }
    if (this.promiscuousUnicast) return true;
    const da = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    const daHigh = b[o + 4] | (b[o + 5] << 8);
    const addresses = this.unicastAddresses;
    for (let k = 0; k < addresses.length; k++) {
      if (addresses[k] === da + daHigh * 4294967296) return true;
    }
    return false;
  }

  private copyFromStaging(region: MemoryRegion, offset: number, from: number, length: number): void {
    if (region.buffer === this.stagingBuffer) {
      region.bytes.copyWithin(offset, from, from + length);
    } else {
      const src = this.stagingBytes;
      const dst = region.bytes;
      for (let k = 0; k < length; k++) dst[offset + k] = src[from + k];
    }
  }

  private reportModified(q: RingState, kind: string, i: number, nowNs: number): void {
    const d = i * 4;
    const was = `${hex(q.snapshot[d + 1])}_${hex(q.snapshot[d])} ${hex(q.snapshot[d + 3])}_${hex(q.snapshot[d + 2])}`;
    const is = `${hex(q.ring[d + 1])}_${hex(q.ring[d])} ${hex(q.ring[d + 3])}_${hex(q.ring[d + 2])}`;
    this.checker.violation(nowNs, 'descriptor-modified-while-owned', `${kind} ring ${q.index} descriptor ${i}`, `Q0/Q1 were ${was} when handed to the NIC, now ${is}`);
  }

  // ------------------------------------------------------------------ transmit data path (Section 7.2)

  private transmit(nowNs: number): boolean {
    const active = this.activeTx;
    if (active.length === 0 || !this.transmitEnable || this.masterDisabled) return false;
    let busy = false;
    for (let k = 0; k < active.length; k++) {
      const q = active[k];
      if (q.head === q.tail) continue;
      if (!this.busMasterOk(nowNs, 'TX', q.index)) continue;
      if (this.transmitQueue(q, nowNs)) busy = true;
    }
    return busy;
  }

  private transmitQueue(q: TxQueueState, nowNs: number): boolean {
    const ring = q.ring;
    const memory = this.memory;
    const size = q.size;
    const start = q.head;
    let head = q.head;
    while (head !== q.tail) {
      // Pacing: the wire is busy until wireFreeNs; a frame cannot leave before the previous poll
      let departure = nowNs;
      if (this.paceMode !== PACE_UNLIMITED) {
        departure = this.wireFreeNs > this.lastPollNs ? this.wireFreeNs : this.lastPollNs;
        if (departure > nowNs) break;
      }
      const i = head;
      const d = i * 4;
      if (!q.unchanged(i)) this.reportModified(q, 'TX', i, nowNs);
      const w2 = ring[d + 2];
      let length = w2 & R.TX_W2_LENGTH_MASK;
      if ((w2 & R.TX_CMD_DEXT) !== 0 && ((w2 & R.TX_ADV_DTYP_MASK) >>> R.TX_ADV_DTYP_SHIFT) !== R.TX_ADV_DTYP_DATA) {
        length = 0; // Section 7.2.3.2.3 advanced context descriptor: no data (offloads are not modelled)
      } else if (length === 0 && this.txGathered === 0) {
        // A null descriptor (Section 7.2.3.2.2 with length 0): consumed, nothing is sent
        this.stats.txNullDescriptors++;
      } else {
        const phys = ring[d] + ring[d + 1] * 4294967296;
        const r = phys === 0 ? -1 : memory.translate(phys, length);
        const eop = (w2 & R.TX_CMD_EOP) !== 0;
        if (r < 0) {
          this.stats.dmaErrors++;
          this.txGathered = 0;
          this.checker.violation(nowNs, 'buffer-address-invalid', `TX ring ${q.index} descriptor ${i}`, `buffer address ${hex(phys)} (+${length} bytes) is not DMA memory; frame dropped`);
        } else if (eop && this.txGathered === 0) {
          this.sendFromBuffer(q, i, phys, memory.regions[r], memory.offset, length, (w2 & R.TX_CMD_IFCS) !== 0, departure);
        } else {
          this.gather(memory.regions[r], memory.offset, length, w2);
          if (eop) {
            const total = this.txGathered;
            this.txGathered = 0;
            this.send(this.txFrame, total, this.txGatherIfcs, departure);
          }
        }
      }
      head = i + 1 === size ? 0 : i + 1;
      q.head = head;
      // Section 7.2.3.5: report status for descriptors with RS: head write-back, or DD in the descriptor
      if ((w2 & R.TX_CMD_RS) !== 0) {
        if (q.headWriteBack) {
          Atomics.store(q.headWords, q.headIndex, head);
        } else if ((w2 & R.TX_CMD_DEXT) !== 0) {
          Atomics.store(ring, d + 3, R.TX_W3_DD); // advanced write-back: STA in bits 3:0, the rest reserved (0)
        } else {
          Atomics.store(ring, d + 3, ring[d + 3] | R.TX_W3_DD); // legacy: STA.DD, CSS/VLAN kept
        }
      }
    }
    if (head === start) return false;
    this.hwStore((q.base + R.TDH_OFF) >>> 2, head);
    return true;
  }

  /** Append a descriptor's data to the frame being gathered (multi-descriptor frames). */
  private gather(region: MemoryRegion, offset: number, length: number, w2: number): void {
    const at = this.txGathered;
    if (at === 0) this.txGatherIfcs = (w2 & R.TX_CMD_IFCS) !== 0;
    const room = MAX_FRAME_BYTES - at;
    const n = length < room ? length : room;
    this.copyToTxStaging(region, offset, at, n);
    this.txGathered = at + n;
  }

  private copyToTxStaging(region: MemoryRegion, offset: number, at: number, length: number): void {
    const to = this.txStagingOffset + at;
    if (region.buffer === this.stagingBuffer) {
      this.stagingBytes.copyWithin(to, offset, offset + length);
    } else {
      const src = region.bytes;
      const dst = this.stagingBytes;
      for (let k = 0; k < length; k++) dst[to + k] = src[offset + k];
    }
  }

  /** A single-descriptor frame: give the outputs a view of the buffer itself when no padding is needed. */
  private sendFromBuffer(q: TxQueueState, i: number, phys: number, region: MemoryRegion, offset: number, length: number, ifcs: boolean, departure: number): void {
    const fcs = ifcs && this.txCrc;
    if (fcs && (length >= MIN_FRAME_BYTES || !this.txPad)) {
      let view = q.slotViews[i];
      if (q.slotPhys[i] !== phys || view === null || view.length < length) {
        const end = region.byteOffset + region.length;
        view = new Uint8Array(region.buffer, offset, Math.min(MAX_FRAME_BYTES, end - offset));
        q.slotViews[i] = view;
        q.slotPhys[i] = phys;
      }
      this.send(view, length, true, departure);
      return;
    }
    this.copyToTxStaging(region, offset, 0, length);
    this.send(this.txFrame, length, ifcs, departure);
  }

  /**
   * Put a frame on the wire. With IFCS (and HLREG0.TXCRCEN) the NIC appends the FCS, so the wire frame (which
   * excludes the FCS) is the data itself, padded to 60 bytes with HLREG0.TXPADEN; without it the data already
   * ends with software's FCS, which is not part of the wire frame.
   */
  private send(frame: Uint8Array, length: number, ifcs: boolean, departure: number): void {
    let wireLength = length;
    if (ifcs && this.txCrc) {
      if (length < MIN_FRAME_BYTES && this.txPad) {
        // only ever the staging frame (sendFromBuffer copies short frames)
        frame.fill(0, length, MIN_FRAME_BYTES);
        wireLength = MIN_FRAME_BYTES;
      }
    } else {
      wireLength = length >= FCS_BYTES ? length - FCS_BYTES : 0;
    }
    this.stats.txPackets++;
    this.stats.txBytes += wireLength + FCS_BYTES;
    if (this.paceMode !== PACE_UNLIMITED) {
      const wireNs =
        this.paceMode === PACE_LINE_RATE
          ? ((wireLength < MIN_FRAME_BYTES ? MIN_FRAME_BYTES : wireLength) + FCS_BYTES + WIRE_OVERHEAD_BYTES) * 0.8
          : this.paceNsPerFrame;
      this.wireFreeNs = departure + wireNs;
    }
    if (this.loopback) {
      // Section 8.2.3.22.8 HLREG0.LPBK: transmitted frames loop back to receive, nothing goes on the wire
      if (this.heldLength === 0) {
        if (frame !== this.rxInto) this.rxInto.set(frame.subarray(0, wireLength));
        this.deliver(wireLength, departure);
        this.publishRxHead();
      }
      return;
    }
    const outputs = this.outputs;
    for (let k = 0; k < outputs.length; k++) outputs[k].frame(frame, wireLength, departure);
  }

  // ------------------------------------------------------------------ statistics registers

  /** Mirror the counters into the statistics registers (Section 8.2.3.23; cumulative since reset, see docs). */
  updateStatisticsRegisters(): void {
    const s = this.stats;
    this.hwStore(R.GPRC >>> 2, s.rxPackets % 4294967296);
    this.hwStore(R.GPTC >>> 2, s.txPackets % 4294967296);
    this.hwStore(R.GORCL >>> 2, s.rxBytes % 4294967296);
    this.hwStore(R.GORCH >>> 2, Math.floor(s.rxBytes / 4294967296) & 0xf);
    this.hwStore(R.GOTCL >>> 2, s.txBytes % 4294967296);
    this.hwStore(R.GOTCH >>> 2, Math.floor(s.txBytes / 4294967296) & 0xf);
  }
}

/** Write back receive descriptor (word index d) after `chunk` bytes were written to its buffer. */
function writeBackRx(q: RxQueueState, d: number, chunk: number, last: boolean): void {
  const ring = q.ring;
  if (q.advanced) {
    // Section 7.1.6.2 advanced write-back: packet info, RSS hash (0), extended status with DD/EOP, length
    ring[d] = 0;
    ring[d + 1] = 0;
    ring[d + 3] = chunk;
    Atomics.store(ring, d + 2, last ? R.RX_ADV_W2_DD | R.RX_ADV_W2_EOP : R.RX_ADV_W2_DD);
  } else {
    // Section 7.1.5 legacy write-back: Q0 untouched; length, checksum 0; status DD/EOP, errors 0, VLAN 0
    ring[d + 2] = chunk;
    Atomics.store(ring, d + 3, last ? R.RX_LEGACY_W3_DD | R.RX_LEGACY_W3_EOP : R.RX_LEGACY_W3_DD);
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

/** The watch list: every register whose write has an effect, in the order writes are processed within a poll. */
function buildWatchList(): { words: Int32Array; kinds: Uint8Array; params: Int16Array } {
  const words: number[] = [];
  const kinds: number[] = [];
  const params: number[] = [];
  const add = (offset: number, kind: number, param = 0) => {
    words.push(offset >>> 2);
    kinds.push(kind);
    params.push(param);
  };
  add(R.CTRL, K_CTRL);
  add(R.STATUS, K_READ_ONLY);
  add(R.EEC, K_EEC);
  add(R.FWSM, K_READ_ONLY);
  add(R.LINKS, K_READ_ONLY);
  add(R.SECRXSTAT, K_READ_ONLY);
  add(R.EIMS, K_EIMS);
  add(R.EIMC, K_EIMC);
  add(R.EIMC1, K_EIMC);
  add(R.EIMC2, K_EIMC);
  add(R.AUTOC, K_AUTOC);
  add(R.HLREG0, K_HLREG0);
  add(R.RDRXCTL, K_RDRXCTL);
  for (let n = 0; n < 16; n++) {
    add(R.RAL(n), K_RECEIVE_ADDRESS);
    add(R.RAH(n), K_RECEIVE_ADDRESS);
  }
  add(R.FCTRL, K_FCTRL);
  // RXCTRL before SECRXCTRL: in TinyNF's sequence RXEN and the clearing of RX_DIS land in one interval
  add(R.RXCTRL, K_RXCTRL);
  add(R.SECRXCTRL, K_SECRXCTRL);
  add(R.DMATXCTL, K_DMATXCTL);
  for (let q = 0; q < R.RX_QUEUES; q++) {
    const b = R.rxQueueBase(q);
    add(b + R.RDBAL_OFF, K_RX_RING, q);
    add(b + R.RDBAH_OFF, K_RX_RING, q);
    add(b + R.RDLEN_OFF, K_RX_RING, q);
    add(b + R.SRRCTL_OFF, K_SRRCTL, q);
    if (q < R.ALIASED_RX_QUEUES) add(R.SRRCTL_ALIAS_BASE + 4 * q, K_SRRCTL, q);
    add(b + R.DCA_RXCTRL_OFF, K_DCA_RXCTRL, q);
    if (q < R.ALIASED_RX_QUEUES) add(R.DCA_RXCTRL_ALIAS_BASE + 4 * q, K_DCA_RXCTRL, q);
    add(b + R.RXDCTL_OFF, K_RXDCTL, q);
    add(b + R.RDH_OFF, K_RDH, q);
    add(b + R.RDT_OFF, K_RDT, q);
  }
  for (let q = 0; q < R.TX_QUEUES; q++) {
    const b = R.txQueueBase(q);
    add(b + R.TDBAL_OFF, K_TX_RING, q);
    add(b + R.TDBAH_OFF, K_TX_RING, q);
    add(b + R.TDLEN_OFF, K_TX_RING, q);
    add(b + R.TDWBAL_OFF, K_TX_RING, q);
    add(b + R.TDWBAH_OFF, K_TX_RING, q);
    add(b + R.TXDCTL_OFF, K_TXDCTL, q);
    add(b + R.TDH_OFF, K_TDH, q);
    add(b + R.TDT_OFF, K_TDT, q);
  }
  return { words: Int32Array.from(words), kinds: Uint8Array.from(kinds), params: Int16Array.from(params) };
}

/** A readable name for a register offset (for violation reports). */
export function registerName(offset: number): string {
  const names: Record<number, string> = {
    [R.CTRL]: 'CTRL',
    [R.STATUS]: 'STATUS',
    [R.CTRL_EXT]: 'CTRL_EXT',
    [R.EEC]: 'EEC',
    [R.FWSM]: 'FWSM',
    [R.EIMS]: 'EIMS',
    [R.EIMC]: 'EIMC',
    [R.HLREG0]: 'HLREG0',
    [R.RDRXCTL]: 'RDRXCTL',
    [R.RXCTRL]: 'RXCTRL',
    [R.FCTRL]: 'FCTRL',
    [R.SECRXCTRL]: 'SECRXCTRL',
    [R.SECRXSTAT]: 'SECRXSTAT',
    [R.DMATXCTL]: 'DMATXCTL',
    [R.LINKS]: 'LINKS',
    [R.AUTOC]: 'AUTOC',
  };
  if (names[offset] !== undefined) return names[offset];
  const rx = [
    [R.RDBAL_OFF, 'RDBAL'],
    [R.RDBAH_OFF, 'RDBAH'],
    [R.RDLEN_OFF, 'RDLEN'],
    [R.DCA_RXCTRL_OFF, 'DCA_RXCTRL'],
    [R.RDH_OFF, 'RDH'],
    [R.SRRCTL_OFF, 'SRRCTL'],
    [R.RDT_OFF, 'RDT'],
    [R.RXDCTL_OFF, 'RXDCTL'],
  ] as const;
  if ((offset >= 0x1000 && offset < 0x2000) || (offset >= 0xd000 && offset < 0xe000)) {
    const q = offset < 0x2000 ? (offset - 0x1000) >> 6 : 64 + ((offset - 0xd000) >> 6);
    const name = rx.find(([o]) => o === (offset & 0x3f));
    if (name) return `${name[1]}(${q})`;
  }
  if (offset >= 0x6000 && offset < 0x8000) {
    const tx = [
      [R.TDBAL_OFF, 'TDBAL'],
      [R.TDBAH_OFF, 'TDBAH'],
      [R.TDLEN_OFF, 'TDLEN'],
      [R.DCA_TXCTRL_OFF, 'DCA_TXCTRL'],
      [R.TDH_OFF, 'TDH'],
      [R.TDT_OFF, 'TDT'],
      [R.TXDCTL_OFF, 'TXDCTL'],
      [R.TDWBAL_OFF, 'TDWBAL'],
      [R.TDWBAH_OFF, 'TDWBAH'],
    ] as const;
    const name = tx.find(([o]) => o === (offset & 0x3f));
    if (name) return `${name[1]}(${(offset - 0x6000) >> 6})`;
  }
  if (offset >= R.SRRCTL_ALIAS_BASE && offset < R.SRRCTL_ALIAS_BASE + 64) return `SRRCTL(${(offset - R.SRRCTL_ALIAS_BASE) >> 2})`;
  if (offset >= R.DCA_RXCTRL_ALIAS_BASE && offset < R.DCA_RXCTRL_ALIAS_BASE + 64) return `DCA_RXCTRL(${(offset - R.DCA_RXCTRL_ALIAS_BASE) >> 2})`;
  return `register 0x${offset.toString(16).padStart(5, '0')}`;
}
