// A port's transmit engine (the WebAssembly kernel of wasm/tx-engine.ts) on the NIC's side: its state block and
// transmit queue 0's snapshots in the port's engine area, one burst per call (transmitQueue decides when).
import type { SnapshotArea, TxQueueState } from './queues';
import { snapshotKernel } from './wasm/snapshot';
import { EngineArea, SNAPSHOT_BYTES, TX_SNAPSHOT_AT, TX_STATE_AT } from './wasm/layout';
import { T, TI, TX_STATE_DOUBLES, TX_STATE_INTS, TX_STATE_INTS_AT, TxKernel, txKernel } from './wasm/tx-engine';

export class TxEngine {
  readonly buffer: SharedArrayBuffer;
  /** Transmit queue 0's snapshots go here (RingState.snapshotArea), where the kernel reads them. */
  readonly snapshotArea: SnapshotArea;
  private readonly state: Float64Array;
  /** The state block's integer outputs (TI). */
  private readonly ints: Int32Array;
  private readonly stateOffset: number;
  private readonly kernel: TxKernel;
  /** The last burst's frames (sent), FCS-inclusive bytes, null descriptors, and whether it reached `fetchAt`. */
  frames = 0;
  bytes = 0;
  nulls = 0;
  fetching = false;
  /** Frames the kernel has sent in all (tests, diagnostics). */
  sent = 0;
  /** The ring and head write-back the state block holds. */
  private ring: Uint32Array | null = null;
  private headWriteBack = false;
  private headIndex = -1;

  constructor(area: EngineArea) {
    this.buffer = area.memory.buffer;
    this.stateOffset = area.offset + TX_STATE_AT;
    this.state = new Float64Array(this.buffer, this.stateOffset, TX_STATE_DOUBLES);
    this.ints = new Int32Array(this.buffer, this.stateOffset + TX_STATE_INTS_AT, TX_STATE_INTS);
    this.snapshotArea = { buffer: this.buffer, byteOffset: area.offset + TX_SNAPSHOT_AT, bytes: SNAPSHOT_BYTES, copy: snapshotKernel(area.memory) };
    this.kernel = txKernel(area.memory);
    this.state[T.snap] = this.snapshotArea.byteOffset;
    this.state[T.physLow] = area.windowPhys;
    this.state[T.physHigh] = area.windowPhys + area.dmaEnd;
  }

  /** Whether the kernel can work on `q` (queue 0, its ring, snapshots and head write-back word in the window). */
  serves(q: TxQueueState): boolean {
    return q.index === 0 && q.snapshotsInArea && (!q.headWriteBack || q.headBuffer === this.buffer);
  }

  /**
   * One burst of `q` from its head to its tail (serves(q) holds; transmitQueue's conditions: unpaced, no loopback,
   * TXCRCEN, no output, no frame being gathered). Returns the new head; the counts are in frames, bytes, nulls.
   */
  transmit(q: TxQueueState, fetchAt: number): number {
    const f = this.state;
    if (q.ring !== this.ring || q.headWriteBack !== this.headWriteBack || q.headIndex !== this.headIndex) {
      // the queue's ring and write-back: written when they change (a store to the state block is not free)
      this.ring = q.ring;
      this.headWriteBack = q.headWriteBack;
      this.headIndex = q.headIndex;
      f[T.ring] = q.ringOffset;
      f[T.size] = q.size;
      f[T.headWriteBack] = q.headWriteBack ? 1 : 0;
      f[T.headAddr] = q.headIndex * 4;
    }
    this.frames = this.kernel(this.stateOffset, q.head, q.tail, fetchAt + 1);
    const ints = this.ints;
    this.bytes = f[T.bytes];
    this.nulls = ints[TI.nulls];
    this.fetching = ints[TI.fetching] !== 0;
    this.sent += this.frames;
    return ints[TI.head];
  }
}
