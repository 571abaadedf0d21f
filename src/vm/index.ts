// The QEMU lab (docs/virtio.md, "The QEMU lab"): prepare a guest image into a cache directory, boot a guest with
// virtio-net NICs, run a command inside, collect its output. A development and test tool: like src/env/lab.ts it
// calls the OS (qemu, apt-get, dpkg-deb, depmod, cpio); no driver imports it.
export { BOOT_MODULES, GuestImage, PrepareOptions, currentKernelPackage, defaultCacheDir, findCachedImage, prepareImage } from './image';
export {
  Guest,
  GuestOptions,
  GuestResult,
  NIC_FIRST_SLOT,
  NicBackend,
  NicOptions,
  NicVariant,
  QEMU,
  nicAddress,
  runGuest,
  startGuest,
  vmSkipReason,
} from './guest';
