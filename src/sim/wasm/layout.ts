import { SharedMemory, sharedMemory } from './api';

// A port's engine area in the DMA window (past what allocateDma hands out): the receive kernel's state block,
// receive queue 0's descriptor snapshots and the input's templates, then the transmit kernel's state block and
// transmit queue 0's snapshots. Byte offsets from the area's start (all 16-byte aligned).
export const STATE_BYTES = 512;
export const SNAPSHOT_DESCRIPTORS = 4096;
export const SNAPSHOT_BYTES = SNAPSHOT_DESCRIPTORS * 16;
export const TEMPLATE_BYTES = 256 * 1024;

export const RX_STATE_AT = 0;
export const RX_SNAPSHOT_AT = RX_STATE_AT + STATE_BYTES;
export const TEMPLATES_AT = RX_SNAPSHOT_AT + SNAPSHOT_BYTES;
export const TX_STATE_AT = TEMPLATES_AT + TEMPLATE_BYTES;
export const TX_SNAPSHOT_AT = TX_STATE_AT + STATE_BYTES;
export const ENGINE_AREA_BYTES = TX_SNAPSHOT_AT + SNAPSHOT_BYTES;

/** Where a port's engine lives: `memory` is the DMA window (physical address `windowPhys` at byte 0). */
export interface EngineArea {
  memory: SharedMemory;
  /** Byte offset of the port's ENGINE_AREA_BYTES in the window (outside what allocateDma hands out). */
  offset: number;
  windowPhys: number;
  /** Where the window's DMA memory ends (PhysicalMemory.allocationEnd): buffers past it are not DMA memory. */
  dmaEnd: number;
}

/** The DMA window of a machine of `ports` ports: `allocationEnd` bytes of DMA memory, then the ports' areas. */
export function engineWindow(allocationEnd: number, ports: number): SharedMemory {
  return sharedMemory(allocationEnd + ports * ENGINE_AREA_BYTES);
}

/** Port `port`'s area in a window made by engineWindow. */
export function engineArea(memory: SharedMemory, windowPhys: number, allocationEnd: number, port: number): EngineArea {
  return { memory, offset: allocationEnd + port * ENGINE_AREA_BYTES, windowPhys, dmaEnd: allocationEnd };
}
