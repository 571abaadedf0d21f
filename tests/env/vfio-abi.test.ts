// The VFIO ABI of src/env/vfio-abi.ts against the kernel's own header: a C program compiled against the installed
// linux/vfio.h prints every ioctl number, struct size and field offset we use, and each must equal ours. The numbers
// are also pinned here (from include/uapi/linux/vfio.h of Linux 6.1), so the test says something without a compiler.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as A from '../../src/env/vfio-abi';

const ours: Record<string, number> = {
  VFIO_API_VERSION: A.VFIO_API_VERSION,
  VFIO_TYPE1_IOMMU: A.VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU: A.VFIO_TYPE1v2_IOMMU,
  VFIO_GET_API_VERSION: A.VFIO_GET_API_VERSION,
  VFIO_CHECK_EXTENSION: A.VFIO_CHECK_EXTENSION,
  VFIO_SET_IOMMU: A.VFIO_SET_IOMMU,
  VFIO_GROUP_GET_STATUS: A.VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER: A.VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER: A.VFIO_GROUP_UNSET_CONTAINER,
  VFIO_GROUP_GET_DEVICE_FD: A.VFIO_GROUP_GET_DEVICE_FD,
  VFIO_DEVICE_GET_INFO: A.VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_REGION_INFO: A.VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET: A.VFIO_DEVICE_RESET,
  VFIO_IOMMU_GET_INFO: A.VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA: A.VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA: A.VFIO_IOMMU_UNMAP_DMA,
  VFIO_GROUP_FLAGS_VIABLE: A.VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_FLAGS_CONTAINER_SET: A.VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_DEVICE_FLAGS_RESET: A.VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_FLAGS_PCI: A.VFIO_DEVICE_FLAGS_PCI,
  VFIO_REGION_INFO_FLAG_READ: A.VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE: A.VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_INFO_FLAG_MMAP: A.VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_PCI_BAR0_REGION_INDEX: A.VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR5_REGION_INDEX: A.VFIO_PCI_BAR5_REGION_INDEX,
  VFIO_PCI_ROM_REGION_INDEX: A.VFIO_PCI_ROM_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX: A.VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_DMA_MAP_FLAG_READ: A.VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE: A.VFIO_DMA_MAP_FLAG_WRITE,
  'sizeof(struct vfio_group_status)': A.GROUP_STATUS.size,
  'offsetof(struct vfio_group_status, argsz)': A.GROUP_STATUS.argsz,
  'offsetof(struct vfio_group_status, flags)': A.GROUP_STATUS.flags,
  'sizeof(struct vfio_device_info)': A.DEVICE_INFO.size,
  'offsetof(struct vfio_device_info, flags)': A.DEVICE_INFO.flags,
  'offsetof(struct vfio_device_info, num_regions)': A.DEVICE_INFO.numRegions,
  'offsetof(struct vfio_device_info, num_irqs)': A.DEVICE_INFO.numIrqs,
  'offsetof(struct vfio_device_info, cap_offset)': A.DEVICE_INFO.capOffset,
  'sizeof(struct vfio_region_info)': A.REGION_INFO.size,
  'offsetof(struct vfio_region_info, flags)': A.REGION_INFO.flags,
  'offsetof(struct vfio_region_info, index)': A.REGION_INFO.index,
  'offsetof(struct vfio_region_info, cap_offset)': A.REGION_INFO.capOffset,
  'offsetof(struct vfio_region_info, size)': A.REGION_INFO.regionSize,
  'offsetof(struct vfio_region_info, offset)': A.REGION_INFO.offset,
  'sizeof(struct vfio_iommu_type1_dma_map)': A.DMA_MAP.size,
  'offsetof(struct vfio_iommu_type1_dma_map, flags)': A.DMA_MAP.flags,
  'offsetof(struct vfio_iommu_type1_dma_map, vaddr)': A.DMA_MAP.vaddr,
  'offsetof(struct vfio_iommu_type1_dma_map, iova)': A.DMA_MAP.iova,
  'offsetof(struct vfio_iommu_type1_dma_map, size)': A.DMA_MAP.mapSize,
  'sizeof(struct vfio_iommu_type1_dma_unmap)': A.DMA_UNMAP.size,
  'offsetof(struct vfio_iommu_type1_dma_unmap, flags)': A.DMA_UNMAP.flags,
  'offsetof(struct vfio_iommu_type1_dma_unmap, iova)': A.DMA_UNMAP.iova,
  'offsetof(struct vfio_iommu_type1_dma_unmap, size)': A.DMA_UNMAP.unmapSize,
};

describe('VFIO ABI', () => {
  test('ioctl numbers are _IO(";", 100 + n) and match the values of linux/vfio.h', () => {
    expect(A._IO(0x3b, 100)).toBe(0x3b64);
    expect(A.VFIO_GET_API_VERSION).toBe(0x3b64);
    expect(A.VFIO_GROUP_GET_STATUS).toBe(0x3b67);
    expect(A.VFIO_GROUP_GET_DEVICE_FD).toBe(0x3b6a);
    expect(A.VFIO_DEVICE_GET_REGION_INFO).toBe(0x3b6c);
    expect(A.VFIO_IOMMU_MAP_DMA).toBe(0x3b71);
    expect(A.VFIO_IOMMU_UNMAP_DMA).toBe(0x3b72);
  });

  test('struct encoders put each field where the layout says', () => {
    const m = A.encodeDmaMap(0x7f12_3456_0000, 0x1_0020_0000, 0x20_0000, 3);
    expect(A.getU32(m, 0)).toBe(32);
    expect(A.getU32(m, A.DMA_MAP.flags)).toBe(3);
    expect(A.getU64(m, A.DMA_MAP.vaddr)).toBe(0x7f12_3456_0000);
    expect(A.getU64(m, A.DMA_MAP.iova)).toBe(0x1_0020_0000);
    expect(A.getU64(m, A.DMA_MAP.mapSize)).toBe(0x20_0000);
    const u = A.encodeDmaUnmap(0x1_0000_0000, 4096);
    expect(Array.from(u)).toEqual([24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0]);
    expect(() => A.putU64(new Uint8Array(8), 0, 2 ** 53)).toThrow(/2\^53/);
  });

  const header = '/usr/include/linux/vfio.h';
  const cc = ['cc', 'gcc'].find((c) => {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  const haveHeader = fs.existsSync(header);
  const t = cc !== undefined && haveHeader ? test : test.skip;
  if (cc === undefined || !haveHeader) {
    console.log(`skipping the linux/vfio.h comparison: needs a C compiler and ${header} (Debian: gcc, linux-libc-dev)`);
  }
  t('every number and offset equals what the C compiler says for linux/vfio.h', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-vfio-abi-'));
    try {
      const lines = Object.keys(ours).map((k) => `  printf("%s=%lu\\n", ${JSON.stringify(k)}, (unsigned long)(${k}));`);
      const src = ['#include <stdio.h>', '#include <stddef.h>', '#include <linux/vfio.h>', 'int main(void) {', ...lines, '  return 0;', '}'].join('\n');
      fs.writeFileSync(path.join(dir, 'abi.c'), src);
      execFileSync(cc!, ['-o', path.join(dir, 'abi'), path.join(dir, 'abi.c')], { stdio: 'pipe' });
      const out = execFileSync(path.join(dir, 'abi'), { encoding: 'utf8' });
      const theirs: Record<string, number> = {};
      for (const line of out.trim().split('\n')) {
        const i = line.lastIndexOf('=');
        theirs[line.slice(0, i)] = Number(line.slice(i + 1));
      }
      expect(theirs).toEqual(ours);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
