// A port's receive engine (the WebAssembly kernel of wasm/rx-engine.ts) on the NIC's side: its area in the DMA
// window (state block, receive queue 0's snapshots, the input's templates), the input it was prepared for, and one
// burst per call with the NIC's and the input's state handed over in the state block and back.
import { alignUp } from './memory';
import { FCS_BYTES, MIN_FRAME_BYTES, frameWireNs } from './nic-constants';
import type { SimNic } from './nic';
import type { RxQueueState, SnapshotArea } from './queues';
import { snapshotKernel } from './wasm/snapshot';
import { EngineArea, RX_SNAPSHOT_AT, RX_STATE_AT, SNAPSHOT_BYTES, TEMPLATES_AT, TEMPLATE_BYTES } from './wasm/layout';
import { RxKernel, S, SI, STATE_DOUBLES, STATE_INTS, STATE_INTS_AT, rxKernel } from './wasm/rx-engine';
import type { StampingInput, WireInput } from './wire';

export class RxEngine {
  readonly buffer: SharedArrayBuffer;
  /** Receive queue 0's snapshots go here (RingState.snapshotArea), where the kernel reads them. */
  readonly snapshotArea: SnapshotArea;
  private readonly state: Float64Array;
  /** The state block's integer outputs (SI). */
  private readonly ints: Int32Array;
  private readonly stateOffset: number;
  private readonly templatesOffset: number;
  private readonly kernel: RxKernel;
  private input: StampingInput | null = null;
  private frameBytes = 0;
  /** Frames the kernel has received (tests, diagnostics). */
  frames = 0;
  /** Frames the last burst dropped for want of a descriptor (DROP_EN): receiveFrames counts them. */
  dropped = 0;
  /** The ring, format and largest frame the state block holds (receive). */
  private ring: Uint32Array | null = null;
  private advanced = false;
  private max = 0;

  constructor(area: EngineArea) {
    this.buffer = area.memory.buffer;
    this.stateOffset = area.offset + RX_STATE_AT;
    this.state = new Float64Array(this.buffer, this.stateOffset, STATE_DOUBLES);
    this.ints = new Int32Array(this.buffer, this.stateOffset + STATE_INTS_AT, STATE_INTS);
    this.snapshotArea = { buffer: this.buffer, byteOffset: area.offset + RX_SNAPSHOT_AT, bytes: SNAPSHOT_BYTES, copy: snapshotKernel(area.memory) };
    this.templatesOffset = area.offset + TEMPLATES_AT;
    this.kernel = rxKernel(area.memory);
    const f = this.state;
    f[S.snap] = this.snapshotArea.byteOffset;
    f[S.physBase] = area.windowPhys;
    f[S.physHigh] = area.windowPhys + area.dmaEnd;
  }

  /** Whether the engine serves `input` (a StampingInput whose templates fit the area); copies its templates. */
  prepare(input: WireInput | null): boolean {
    this.input = null;
    if (input === null || typeof (input as Partial<StampingInput>).stampTemplates !== 'function') return false;
    const stamping = input as StampingInput;
    const templates = stamping.stampTemplates();
    if (templates === null || templates.length === 0) return false;
    const length = templates[0].length;
    // runts take the JavaScript path (counted in RUC there); every template must be of the one length
    if (length < MIN_FRAME_BYTES || templates.some((t) => t.length !== length)) return false;
    const stride = alignUp(length, 16);
    const tableBytes = alignUp(templates.length * 4, 16);
    if (tableBytes + templates.length * stride > TEMPLATE_BYTES) return false;
    const base = this.templatesOffset;
    const table = new Int32Array(this.buffer, base, templates.length);
    const bytes = new Uint8Array(this.buffer);
    for (let k = 0; k < templates.length; k++) {
      const at = base + tableBytes + k * stride;
      bytes.set(templates[k], at);
      table[k] = at;
    }
    this.state[S.table] = base;
    this.state[S.arrivalNs] = frameWireNs(length);
    this.frameBytes = length + FCS_BYTES;
    this.input = stamping;
    return true;
  }

  /**
   * One burst into queue 0 (receiveDirect's conditions hold: receiving, every frame accepted, CRC stripped, the
   * input's frames fit the buffers). Returns the frames received; `dropped` the frames that found no free
   * descriptor with DROP_EN (dropped unread, as receiveFrames skips them); nic.rxInputDry tells whether the input
   * ran dry. Leaves the descriptor at the head to the JavaScript path when it needs it (modified, buffer elsewhere).
   */
  receive(nic: SimNic, q: RxQueueState, nowNs: number, budget: number, floor: number): number {
    this.dropped = 0;
    const input = this.input;
    if (input === null || !q.snapshotsInArea) return 0;
    const f = this.state;
    if (!input.saveStampState(f)) return 0;
    if (q.ring !== this.ring || q.advanced !== this.advanced || nic.directMax !== this.max) {
      // the queue's ring and format: written when they change (a store to the state block is not free)
      this.ring = q.ring;
      this.advanced = q.advanced;
      this.max = nic.directMax;
      f[S.ring] = q.ringOffset;
      f[S.size] = q.size;
      f[S.advanced] = q.advanced ? 1 : 0;
      f[S.max] = nic.directMax;
    }
    const canDrop = q.dropEnable && nic.skipInput !== null ? 1 : 0;
    const frames = this.kernel(this.stateOffset, q.head, q.tail, budget, input.stampFlow, nowNs, nic.rxWireFreeNs, floor, input.stampSent, input.stampWireBits, canDrop);
    const ints = this.ints;
    this.dropped = ints[SI.dropped];
    input.loadStampState(f, ints);
    q.head = ints[SI.head];
    nic.rxWireFreeNs = f[S.wireFree];
    nic.rxInputDry = ints[SI.dry] !== 0;
    if (frames !== 0) {
      this.frames += frames;
      nic.stats.rxPackets += frames;
      // Section 8.2.3.23.22: octets from the destination address to the CRC, inclusive
      nic.stats.rxBytes += frames * this.frameBytes;
    }
    return frames;
  }
}
