// The VFIO user-space ABI (include/uapi/linux/vfio.h), written out by hand: ioctl numbers and the byte layout of
// every struct tinynf passes to the kernel. Nothing here calls the OS; src/env/vfio.ts does, through koffi.
//
// ioctl numbers: vfio.h defines every VFIO ioctl as _IO(VFIO_TYPE, VFIO_BASE + n) with VFIO_TYPE = ';' (0x3b) and
// VFIO_BASE = 100, i.e. with direction and size 0 even where the comment above it says _IOR/_IOW/_IOWR (the kernel
// reads `argsz` from the struct instead). include/uapi/asm-generic/ioctl.h: _IOC(dir, type, nr, size) =
// dir << 30 | size << 16 | type << 8 | nr, so _IO(type, nr) = type << 8 | nr.
//
// Structs: all fields are __u32/__u64 in natural alignment, little-endian on x86-64; the first field of each is
// `argsz`, the size the caller passes (the kernel rejects argsz smaller than the fields it needs, -EINVAL).
// tests/env/vfio-abi.test.ts compiles a C program against the installed linux/vfio.h and compares every number
// and offset below with what the compiler says.
import { TinyNfError } from './environment';

export const VFIO_TYPE = 0x3b; // ';'
export const VFIO_BASE = 100;

/** _IO(type, nr) of include/uapi/asm-generic/ioctl.h (direction none, size 0). */
export function _IO(type: number, nr: number): number {
  return ((type << 8) | nr) >>> 0;
}

const vfioIo = (n: number): number => _IO(VFIO_TYPE, VFIO_BASE + n);

/** vfio.h VFIO_API_VERSION: what VFIO_GET_API_VERSION returns. */
export const VFIO_API_VERSION = 0;
/** IOMMU models (VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU argument). */
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_TYPE1v2_IOMMU = 3;

// ---- container (/dev/vfio/vfio) ----
export const VFIO_GET_API_VERSION = vfioIo(0);
export const VFIO_CHECK_EXTENSION = vfioIo(1);
export const VFIO_SET_IOMMU = vfioIo(2);
// ---- group (/dev/vfio/N) ----
export const VFIO_GROUP_GET_STATUS = vfioIo(3);
export const VFIO_GROUP_SET_CONTAINER = vfioIo(4);
export const VFIO_GROUP_UNSET_CONTAINER = vfioIo(5);
export const VFIO_GROUP_GET_DEVICE_FD = vfioIo(6);
// ---- device fd ----
export const VFIO_DEVICE_GET_INFO = vfioIo(7);
export const VFIO_DEVICE_GET_REGION_INFO = vfioIo(8);
export const VFIO_DEVICE_RESET = vfioIo(11);
// ---- type1 IOMMU (on the container once VFIO_SET_IOMMU is done) ----
export const VFIO_IOMMU_GET_INFO = vfioIo(12);
export const VFIO_IOMMU_MAP_DMA = vfioIo(13);
export const VFIO_IOMMU_UNMAP_DMA = vfioIo(14);

// struct vfio_group_status { __u32 argsz; __u32 flags; }
export const GROUP_STATUS = { size: 8, argsz: 0, flags: 4 } as const;
export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

// struct vfio_device_info { __u32 argsz, flags, num_regions, num_irqs, cap_offset; }
export const DEVICE_INFO = { size: 20, argsz: 0, flags: 4, numRegions: 8, numIrqs: 12, capOffset: 16 } as const;
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;

// struct vfio_region_info { __u32 argsz, flags, index, cap_offset; __u64 size, offset; }
export const REGION_INFO = { size: 32, argsz: 0, flags: 4, index: 8, capOffset: 12, regionSize: 16, offset: 24 } as const;
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;

// enum { VFIO_PCI_BAR0_REGION_INDEX, ... BAR5, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, ... }
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;

// struct vfio_iommu_type1_dma_map { __u32 argsz, flags; __u64 vaddr, iova, size; }
export const DMA_MAP = { size: 32, argsz: 0, flags: 4, vaddr: 8, iova: 16, mapSize: 24 } as const;
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;

// struct vfio_iommu_type1_dma_unmap { __u32 argsz, flags; __u64 iova, size; __u8 data[]; }
export const DMA_UNMAP = { size: 24, argsz: 0, flags: 4, iova: 8, unmapSize: 16 } as const;

// ---- encoding helpers (little-endian; u64 as Numbers < 2^53) ----

export function putU32(b: Uint8Array, offset: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(offset, v >>> 0, true);
}

export function getU32(b: Uint8Array, offset: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(offset, true);
}

export function putU64(b: Uint8Array, offset: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new TinyNfError(`VFIO: ${v} is not a 64-bit unsigned value below 2^53`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  dv.setUint32(offset, v % 0x1_0000_0000, true);
  dv.setUint32(offset + 4, Math.floor(v / 0x1_0000_0000), true);
}

/** A __u64 field as a Number; throws if it does not fit 2^53 (no VFIO offset or size we use comes close). */
export function getU64(b: Uint8Array, offset: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const v = dv.getUint32(offset + 4, true) * 0x1_0000_0000 + dv.getUint32(offset, true);
  if (!Number.isSafeInteger(v)) throw new TinyNfError(`VFIO: a 64-bit value from the kernel exceeds 2^53`);
  return v;
}

/** A zeroed struct of `size` bytes with argsz set. */
export function newStruct(size: number): Uint8Array {
  const b = new Uint8Array(size);
  putU32(b, 0, size);
  return b;
}

export function encodeDmaMap(vaddr: number, iova: number, size: number, flags: number): Uint8Array {
  const b = newStruct(DMA_MAP.size);
  putU32(b, DMA_MAP.flags, flags);
  putU64(b, DMA_MAP.vaddr, vaddr);
  putU64(b, DMA_MAP.iova, iova);
  putU64(b, DMA_MAP.mapSize, size);
  return b;
}

export function encodeDmaUnmap(iova: number, size: number): Uint8Array {
  const b = newStruct(DMA_UNMAP.size);
  putU64(b, DMA_UNMAP.iova, iova);
  putU64(b, DMA_UNMAP.unmapSize, size);
  return b;
}

export interface RegionInfo {
  readonly index: number;
  readonly flags: number;
  /** Bytes; 0 for a BAR the device does not implement. */
  readonly size: number;
  /** Where the region starts in the device fd (for pread/pwrite/mmap). */
  readonly offset: number;
}

export function decodeRegionInfo(b: Uint8Array): RegionInfo {
  return {
    index: getU32(b, REGION_INFO.index),
    flags: getU32(b, REGION_INFO.flags),
    size: getU64(b, REGION_INFO.regionSize),
    offset: getU64(b, REGION_INFO.offset),
  };
}
