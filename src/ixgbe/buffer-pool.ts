// The flexible model's buffer pool (ixy's mempool, DPDK's rte_mempool in spirit): fixed-size packet buffers in
// DMA memory, handed out and taken back through a free stack. A buffer is named by its index; per-buffer views,
// physical addresses and packet lengths are pre-computed arrays, so nothing is allocated per packet.
import { Environment, HUGE_PAGE_SIZE, TinyNfError } from '../env/environment';

export const POOL_BUFFER_BYTES = 2048;
export const DEFAULT_POOL_SIZE = 4096;

export class BufferPool {
  readonly size: number;
  readonly bufferBytes = POOL_BUFFER_BYTES;
  /** packets[i] / views[i]: the whole buffer i. */
  readonly packets: readonly Uint8Array[];
  readonly views: readonly DataView[];
  /** Physical address of buffer i. */
  readonly phys: Float64Array;
  /** The same, split in 32-bit halves as descriptors hold it (no float division per packet). */
  readonly physLow: Uint32Array;
  readonly physHigh: Uint32Array;
  /** Length of the packet currently in buffer i (set by receive, read by transmit). */
  readonly lengths: Uint16Array;
  private readonly freeStack: Int32Array;
  private top: number;

  constructor(env: Environment, size: number = DEFAULT_POOL_SIZE) {
    if (!Number.isInteger(size) || size < 1 || size > 1 << 20) {
      throw new TinyNfError(`buffer pool size must be between 1 and ${1 << 20}, got ${size}`);
    }
    this.size = size;
    this.phys = new Float64Array(size);
    this.physLow = new Uint32Array(size);
    this.physHigh = new Uint32Array(size);
    this.lengths = new Uint16Array(size);
    this.freeStack = new Int32Array(size);
    const packets: Uint8Array[] = [];
    const views: DataView[] = [];
    // One DMA allocation is at most a huge page: allocate in chunks of whole buffers.
    const perChunk = HUGE_PAGE_SIZE / POOL_BUFFER_BYTES;
    for (let first = 0; first < size; first += perChunk) {
      const count = Math.min(perChunk, size - first);
      const chunk = env.allocateDma(count * POOL_BUFFER_BYTES);
      for (let k = 0; k < count; k++) {
        const offset = chunk.byteOffset + k * POOL_BUFFER_BYTES;
        packets.push(new Uint8Array(chunk.buffer, offset, POOL_BUFFER_BYTES));
        views.push(new DataView(chunk.buffer, offset, POOL_BUFFER_BYTES));
        const phys = chunk.phys + k * POOL_BUFFER_BYTES;
        this.phys[first + k] = phys;
        this.physLow[first + k] = phys >>> 0;
        this.physHigh[first + k] = Math.floor(phys / 2 ** 32);
      }
    }
    this.packets = packets;
    this.views = views;
    for (let i = 0; i < size; i++) this.freeStack[i] = size - 1 - i;
    this.top = size;
  }

  /** Buffers currently free. */
  get available(): number {
    return this.top;
  }

  /** A free buffer's index, or -1 if the pool is empty. */
  alloc(): number {
    if (this.top === 0) return -1;
    return this.freeStack[--this.top];
  }

  free(buffer: number): void {
    if (this.top === this.size) throw new TinyNfError(`buffer pool: buffer ${buffer} freed but every buffer is already free`);
    this.freeStack[this.top++] = buffer;
  }

  /** Copy the packet of buffer `from` (its current length) into buffer `to`. */
  copy(from: number, to: number): void {
    const length = this.lengths[from];
    const source = this.packets[from];
    const target = this.packets[to];
    for (let i = 0; i < length; i++) target[i] = source[i];
    this.lengths[to] = length;
  }
}
