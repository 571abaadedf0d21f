// libc through koffi, for the few system calls Node's own APIs do not offer.
//
// What Node already does (and we use it rather than FFI): open/close/pread/pwrite/ftruncate/unlink on files
// (fs.openSync, fs.readSync/writeSync with a position = pread/pwrite, fs.ftruncateSync, fs.unlinkSync),
// process.geteuid(), statfs (fs.statfsSync). mmap is done by the native addon (native/shm.cc) because only
// C++ can wrap foreign memory in a SharedArrayBuffer.
//
// What only libc does, and why we need it:
//   mlock(2)        lock DMA memory with an error we can report (MAP_LOCKED in mmap fails silently)
//   mount(2), umount2(2)   `tinynf setup hugepages` mounts hugetlbfs without spawning mount(8)
//   ioctl(2)        TAP devices (TUNSETIFF) for the simulated wires; VFIO (vfio.ts: container, group, device,
//                   IOMMU mappings)
//   getpagesize(2)  the base page size pagemap is indexed by (Node has no API for it)
//   open/close/pread/pwrite  declared for the ioctl users (TAP needs a raw fd from open(2) with O_RDWR) and
//                   as a check that the FFI layer works; the environment itself uses Node's fs for files.
//
// The bindings are loaded lazily: importing this module costs nothing until libc() is first called, so the
// simulated environment and the CLI's read-only commands never load koffi.
import { TinyNfError } from './environment';
import { REBUILD_ADVICE } from './native/addon';

/** The libc functions tinynf uses, with JavaScript types. All return -1 and set errno on failure. */
export interface Libc {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  /** pread(2) into `buffer` (count <= buffer.length); returns bytes read or -1. */
  pread(fd: number, buffer: Uint8Array, count: number, offset: number): number;
  /** pwrite(2) from `buffer`; returns bytes written or -1. */
  pwrite(fd: number, buffer: Uint8Array, count: number, offset: number): number;
  /** ioctl(2) with a pointer argument (e.g. a struct ifreq in a Uint8Array). */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /** ioctl(2) with an integer argument (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU; 0 where none is read). */
  ioctlInt(fd: number, request: number, value: number): number;
  /** ioctl(2) with a NUL-terminated string argument (VFIO_GROUP_GET_DEVICE_FD takes the device's name). */
  ioctlString(fd: number, request: number, value: string): number;
  getpagesize(): number;
  getuid(): number;
  geteuid(): number;
  /** mlock(2) of a virtual address range (addresses as Numbers: user space is < 2^47). */
  mlock(address: number, length: number): number;
  munlock(address: number, length: number): number;
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  /** The calling thread's errno after the last failed call. */
  errno(): number;
  /** strerror(3), e.g. "Permission denied". */
  strerror(errno: number): string;
}

let loaded: Libc | undefined;

/** The libc bindings (loaded on first use). */
export function libc(): Libc {
  if (loaded === undefined) {
    loaded = load();
  }
  return loaded;
}

/** "<what>: <strerror(errno)>" for the last failed libc call. */
export function lastError(what: string): string {
  const l = libc();
  const e = l.errno();
  return `${what}: ${l.strerror(e)} (errno ${e})`;
}

function load(): Libc {
  let koffi: typeof import('koffi');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    koffi = require('koffi');
  } catch (e) {
    throw new TinyNfError(`cannot load koffi (the FFI library): ${(e as Error).message}; ${REBUILD_ADVICE}`);
  }
  const lib = koffi.load('libc.so.6');
  // open and ioctl are variadic in C: koffi needs the '...' and the type of each extra argument at the call.
  const open = lib.func('int open(const char *path, int flags, ...)');
  const close = lib.func('int close(int fd)');
  const pread = lib.func('intptr_t pread(int fd, void *buf, size_t count, int64_t offset)');
  const pwrite = lib.func('intptr_t pwrite(int fd, const void *buf, size_t count, int64_t offset)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const getpagesize = lib.func('int getpagesize()');
  const getuid = lib.func('uint32_t getuid()');
  const geteuid = lib.func('uint32_t geteuid()');
  const mlock = lib.func('int mlock(uintptr_t addr, size_t len)');
  const munlock = lib.func('int munlock(uintptr_t addr, size_t len)');
  const mount = lib.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  );
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  const strerror = lib.func('const char *strerror(int errnum)');

  return {
    open: (path, flags, mode) => open(path, flags, 'uint32_t', mode) as number,
    close: (fd) => close(fd) as number,
    pread: (fd, buffer, count, offset) => {
      checkCount(buffer, count);
      return Number(pread(fd, buffer, count, offset));
    },
    pwrite: (fd, buffer, count, offset) => {
      checkCount(buffer, count);
      return Number(pwrite(fd, buffer, count, offset));
    },
    ioctl: (fd, request, arg) => ioctl(fd, request, 'void *', arg) as number,
    ioctlInt: (fd, request, value) => ioctl(fd, request, 'long', value) as number,
    ioctlString: (fd, request, value) => ioctl(fd, request, 'const char *', value) as number,
    getpagesize: () => getpagesize() as number,
    getuid: () => getuid() as number,
    geteuid: () => geteuid() as number,
    mlock: (address, length) => mlock(address, length) as number,
    munlock: (address, length) => munlock(address, length) as number,
    mount: (source, target, fstype, flags, data) => mount(source, target, fstype, flags, data) as number,
    umount2: (target, flags) => umount2(target, flags) as number,
    errno: () => koffi.errno(),
    strerror: (errnum) => strerror(errnum) as string,
  };
}

function checkCount(buffer: Uint8Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > buffer.length) {
    throw new RangeError(`count ${count} does not fit a buffer of ${buffer.length} bytes`);
  }
}

/** open(2) flags (Linux x86-64/arm64 generic values, asm-generic/fcntl.h). */
export const O_RDONLY = 0o0;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_SYNC = 0o4010000;
export const O_CLOEXEC = 0o2000000;
/** umount2(2) flag: lazy unmount. */
export const MNT_DETACH = 2;
