// Per-queue state of the simulated 82599: what the NIC latched when the queue was enabled (ring location and size,
// translated once into a typed-array view), its head and tail, and a snapshot of every descriptor it owns
// (taken when the poll that saw the tail hand it over fetched it: at once, or by that poll's DMA work for a
// transmit queue, see `unfetched`) so that software modifying an owned descriptor is detected.
import type { MemoryRegion, PhysicalMemory } from './memory';

export const DESCRIPTOR_BYTES = 16;

/** Memory for a ring's snapshots in an engine area, and the kernel that copies descriptors into it. */
export interface SnapshotArea {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  bytes: number;
  copy: (to: number, from: number, count: number) => void;
}

export class RingState {
  enabled = false;
  /** Poll at which the queue was enabled (for the same-poll-interval ordering rule). */
  enabledAtPoll = -1;
  ringPhys = 0;
  /** Descriptors in the ring. */
  size = 0;
  /** The ring as 32-bit words (4 per descriptor), a view over the DMA region holding it. */
  ring: Uint32Array = EMPTY;
  /** The byte offset of `ring` in its region's buffer (read once at latch: a SharedArrayBuffer view's is slow). */
  ringOffset = 0;
  /**
   * Where the snapshots go when the ring is in the area's buffer and they fit (an engine's area, so that its kernel
   * reads them: nic-rx-engine.ts, nic-tx-engine.ts).
   */
  snapshotArea: SnapshotArea | null = null;
  /** The area's copy kernel (wasm/snapshot.ts) while the snapshots are in the area (since the last latch). */
  private snapshotCopy: SnapshotArea['copy'] | null = null;
  head = 0;
  tail = 0;
  /** Copies of the descriptors handed to the NIC (4 words each), compared when the NIC uses them. */
  snapshot: Uint32Array = EMPTY;
  /**
   * Per descriptor, the buffer address last seen there and a view of that buffer (PhysicalMemory.viewAt): a ring
   * whose buffers stay in place (TinyNF's) finds its view with one compare; a pool's recycled buffers fall back to
   * viewAt's address-keyed cache. Either way no allocation per frame.
   */
  slotPhys: Float64Array = new Float64Array(0);
  slotViews: Uint8Array[] = [];
  /**
   * The same per-descriptor cache for bufferAt: the buffer's byte offset in its region's buffer, the bytes from
   * there to the region's end, and the region. A typed array's byteOffset and buffer are slow to read in V8 for a
   * SharedArrayBuffer (a call, not a load), so the receive path hands inputs offsets into whole-buffer arrays.
   */
  slotAtPhys: Float64Array = new Float64Array(0);
  slotAt: Float64Array = new Float64Array(0);
  slotRoom: Float64Array = new Float64Array(0);
  slotRegions: MemoryRegion[] = [];
  /** The region of the last successful bufferAt. */
  atRegion: MemoryRegion | null = null;
  /**
   * Descriptors handed over whose fetch is deferred to the poll's DMA work (a transmit queue's, moveTail): the
   * `unfetched` descriptors from `fetchFrom` up to the tail have no snapshot yet. The DMA work of the same poll uses
   * them as it reads them (that read is the fetch: the NIC does nothing else between a poll's observation and work)
   * and fetches the rest (fetchPending). 0 outside a poll.
   */
  fetchFrom = 0;
  unfetched = 0;

  constructor(
    readonly index: number,
    /** Byte offset of the queue's register block in BAR0. */
    readonly base: number,
  ) {}

  /** Latch the ring: `region` holds it at byte `byteOffset` of its buffer. */
  latch(phys: number, size: number, region: MemoryRegion, byteOffset: number): void {
    this.ringPhys = phys;
    this.size = size;
    this.ring = new Uint32Array(region.buffer, byteOffset, size * 4);
    this.ringOffset = byteOffset;
    const area = this.snapshotArea;
    const wasInArea = this.snapshotCopy !== null;
    this.snapshotCopy = null;
    if (area !== null && region.buffer === area.buffer && size * 16 <= area.bytes) {
      this.snapshot = new Uint32Array(area.buffer, area.byteOffset, size * 4);
      this.snapshotCopy = area.copy;
    } else if (this.snapshot.length !== size * 4 || wasInArea) {
      this.snapshot = new Uint32Array(size * 4);
    }
    this.slotPhys = new Float64Array(size).fill(-1);
    this.slotViews = new Array<Uint8Array>(size).fill(EMPTY_BYTES);
    this.slotAtPhys = new Float64Array(size).fill(-1);
    this.slotAt = new Float64Array(size);
    this.slotRoom = new Float64Array(size);
    this.slotRegions = new Array<MemoryRegion>(size).fill(region);
    this.unfetched = 0;
  }

  /** Whether ring and snapshots are both in the engine area (its kernels can work on them). */
  get snapshotsInArea(): boolean {
    return this.snapshotCopy !== null;
  }

  /** Hand over descriptors up to `to` (the new tail) with their fetch deferred (see `unfetched`). */
  deferFetch(to: number): void {
    if (this.unfetched === 0) this.fetchFrom = this.tail;
    const given = to - this.tail;
    this.unfetched += given < 0 ? given + this.size : given;
    this.tail = to;
  }

  /** Fetch (snapshot) the descriptors whose fetch was deferred and that are still owned: [fetchFrom, tail). */
  fetchPending(): void {
    if (this.unfetched === 0) return;
    this.unfetched = 0;
    this.snapshotRange(this.fetchFrom, this.tail);
  }

  /**
   * The byte offset, in the buffer of its region (then in `atRegion`), of the buffer at `phys` named by descriptor
   * i, if at least `length` bytes from there are DMA memory; else -1.
   */
  bufferAt(i: number, phys: number, length: number, memory: PhysicalMemory): number {
    if (this.slotAtPhys[i] === phys && this.slotRoom[i] >= length) {
      this.atRegion = this.slotRegions[i];
      return this.slotAt[i];
    }
    if (phys === 0) return -1;
    const r = memory.translate(phys, length);
    if (r < 0) return -1;
    const region = memory.regions[r];
    const at = memory.offset;
    this.slotAtPhys[i] = phys;
    this.slotAt[i] = at;
    this.slotRoom[i] = region.byteOffset + region.length - at;
    this.slotRegions[i] = region;
    this.atRegion = region;
    return at;
  }

  /** A view of at least `length` bytes of the buffer at `phys` named by descriptor i, or null if not DMA memory. */
  bufferView(i: number, phys: number, length: number, memory: PhysicalMemory): Uint8Array | null {
    if (this.slotPhys[i] === phys) {
      const v = this.slotViews[i];
      if (v.length >= length) return v;
    }
    const v = memory.viewAt(phys, length);
    if (v === null) return null;
    this.slotPhys[i] = phys;
    this.slotViews[i] = v;
    return v;
  }

  /** Descriptors the NIC owns: [head, tail) circularly. */
  get owned(): number {
    return this.size === 0 ? 0 : (this.tail - this.head + this.size) % this.size;
  }

  /** Remember descriptors [from, to) as they are when handed to the NIC. */
  snapshotRange(from: number, to: number): void {
    const copy = this.snapshotCopy;
    if (copy !== null) {
      const size = this.size;
      const span = to - from;
      if (span === 0) return;
      const n = span < 0 ? span + size : span;
      const first = from + n <= size ? n : size - from;
      const snapAt = (this.snapshotArea as SnapshotArea).byteOffset;
      copy(snapAt + from * 16, this.ringOffset + from * 16, first);
      if (first < n) copy(snapAt, this.ringOffset, n - first);
      return;
    }
    const ring = this.ring;
    const snap = this.snapshot;
    const size = this.size;
    for (let i = from; i !== to; i = i + 1 === size ? 0 : i + 1) {
      const d = i * 4;
      snap[d] = ring[d];
      snap[d + 1] = ring[d + 1];
      snap[d + 2] = ring[d + 2];
      snap[d + 3] = ring[d + 3];
    }
  }

  /** Whether descriptor i still equals its snapshot. */
  unchanged(i: number): boolean {
    const d = i * 4;
    const ring = this.ring;
    const snap = this.snapshot;
    return ring[d] === snap[d] && ring[d + 1] === snap[d + 1] && ring[d + 2] === snap[d + 2] && ring[d + 3] === snap[d + 3];
  }

  disable(): void {
    this.enabled = false;
    this.unfetched = 0;
    this.ring = EMPTY;
    this.size = 0;
  }
}

const EMPTY = new Uint32Array(0);
const EMPTY_BYTES = new Uint8Array(0);

export class RxQueueState extends RingState {
  /** SRRCTL.BSIZEPACKET in bytes. */
  bufferBytes = 2048;
  dropEnable = false;
  advanced = false;
  /** DCA_RXCTRL bit 12 warning given for this enabling. */
  dcaWarned = false;
}

export class TxQueueState extends RingState {
  headWriteBack = false;
  /** Descriptors consumed since the queue was enabled (saturates at no particular value: only ">= size" matters). */
  consumed = 0;
  /** Since when (ns) the descriptor at the tail differs from what it was when last handed over, or -1. */
  lapSince = -1;
  /** tx-tail-lap-suspected reported for this enabling. */
  lapWarned = false;
  /** The head write-back word: a view of the region's buffer and the word index in it. */
  headWords: Uint32Array = EMPTY;
  headIndex = 0;
  /** headWords' buffer (read once when the queue is enabled). */
  headBuffer: SharedArrayBuffer | null = null;

  override latch(phys: number, size: number, region: MemoryRegion, byteOffset: number): void {
    super.latch(phys, size, region, byteOffset);
    this.consumed = 0;
    this.lapSince = -1;
    this.lapWarned = false;
    this.headBuffer = null;
  }
}
