// TAP devices: a Linux virtual Ethernet interface whose other side is a file descriptor. The kernel's
// transmitted frames are read() from the fd, and frames written to the fd are received by the kernel.
// Frames have no FCS (and, with IFF_NO_PI, no packet-information prefix): exactly the wire interface.
//
// Linux interface (include/uapi/linux/if_tun.h, Documentation/networking/tuntap.rst):
//   fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK); ioctl(fd, TUNSETIFF, &ifreq{name, IFF_TAP|IFF_NO_PI})
// creates the interface (or attaches to an existing persistent one of that name) in the network namespace
// the process is in at open() time. The fd stays attached when the interface is later moved to another
// namespace (`ip link set NAME netns NS`), and to open a persistent TAP that lives in another namespace we
// enter that namespace (setns(2)) on this thread just for the open, then come back.
//
// libc bindings declared here (src/env/libc.ts lacks them): read(2), write(2) and setns(2). read/write take
// a private (non-shared) bounce buffer, because koffi refuses views over SharedArrayBuffer.
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { TinyNfError } from './environment';
import { libc, lastError, O_RDWR, O_CLOEXEC } from './libc';

/** if_tun.h: TUNSETIFF = _IOW('T', 202, int). */
export const TUNSETIFF = 0x400454ca;
/** if_tun.h: IFF_TAP (Ethernet frames), IFF_NO_PI (no 4-byte packet-information prefix). */
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
/** asm-generic/fcntl.h */
export const O_NONBLOCK = 0o4000;
/** sched.h: CLONE_NEWNET, the namespace type for setns(2). */
export const CLONE_NEWNET = 0x40000000;
/** IFNAMSIZ (if.h), including the terminating NUL; struct ifreq is 40 bytes on 64-bit Linux. */
export const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const EAGAIN = 11;
const EINTR = 4;
const EBUSY = 16;
/** Where `ip netns add` puts the namespace handles. */
export const NETNS_RUN_DIR = '/run/netns';
/** Largest frame we read: a jumbo frame plus slack (tun delivers at most the MTU + 14). */
export const TAP_MAX_FRAME = 65536;

interface TapLibc {
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
}

let tapLibc: TapLibc | undefined;

function bindings(): TapLibc {
  if (tapLibc === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const read = lib.func('intptr_t read(int fd, void *buf, size_t count)');
    const write = lib.func('intptr_t write(int fd, const void *buf, size_t count)');
    const setns = lib.func('int setns(int fd, int nstype)');
    tapLibc = {
      read: (fd, buf, count) => Number(read(fd, buf, count)),
      write: (fd, buf, count) => Number(write(fd, buf, count)),
      setns: (fd, nstype) => setns(fd, nstype) as number,
      errno: () => koffi.errno(),
    };
  }
  return tapLibc;
}

/** Interface names the kernel accepts (dev_valid_name): 1..15 bytes, no '/', ':' or whitespace, not . or .. */
export function checkInterfaceName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    Buffer.byteLength(name) >= IFNAMSIZ ||
    /[/:\s]/.test(name) ||
    name === '.' ||
    name === '..'
  ) {
    throw new TinyNfError(`invalid interface name '${name}': 1 to 15 characters, no '/', ':' or spaces`);
  }
}

function checkNamespaceName(netns: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns) || netns === '.' || netns === '..') {
    throw new TinyNfError(`invalid network namespace name '${netns}'`);
  }
}

/** Run `fn` with this thread in network namespace `netns` (a name under /run/netns), then come back. */
export function inNetworkNamespace<T>(netns: string, fn: () => T): T {
  checkNamespaceName(netns);
  const b = bindings();
  let target: number;
  try {
    target = fs.openSync(`${NETNS_RUN_DIR}/${netns}`, 'r');
  } catch (e) {
    throw new TinyNfError(`network namespace '${netns}' not found (${(e as Error).message}); create it with ip netns add`);
  }
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (b.setns(target, CLONE_NEWNET) !== 0) {
      throw new TinyNfError(`cannot enter network namespace '${netns}': errno ${b.errno()} (are you root?)`);
    }
    try {
      return fn();
    } finally {
      if (b.setns(home, CLONE_NEWNET) !== 0) {
        // Staying in the wrong namespace would silently misroute everything after: this is fatal.
        throw new Error(`cannot return to the original network namespace: errno ${b.errno()}`);
      }
    }
  } finally {
    fs.closeSync(target);
    fs.closeSync(home);
  }
}

/** Network namespace names (from /run/netns). */
export function listNetworkNamespaces(): string[] {
  try {
    return fs.readdirSync(NETNS_RUN_DIR).sort();
  } catch {
    return [];
  }
}

/** The namespace holding an interface of this name: '' for the current one, else a /run/netns name, or null. */
export function findInterfaceNamespace(name: string): string | null {
  checkInterfaceName(name);
  if (fs.existsSync(`/sys/class/net/${name}`)) return '';
  for (const ns of listNetworkNamespaces()) {
    const r = spawnSync('ip', ['-n', ns, '-o', 'link', 'show', 'dev', name], { stdio: 'ignore', timeout: 5000 });
    if (r.status === 0) return ns;
  }
  return null;
}

export interface TapOpenOptions {
  /**
   * The network namespace to open the TAP in: a /run/netns name, '' for the current one, or undefined to
   * look for an existing interface of that name in the current namespace, then in every /run/netns one
   * (falling back to creating it in the current namespace).
   */
  netns?: string;
}

/** An open TAP device: non-blocking reads and writes of whole frames (no FCS, no PI header). */
export class TapDevice {
  /** Frames whose write() failed (e.g. EIO while the interface is down, or a full queue). */
  writeErrors = 0;
  private fdValue: number;
  private readonly bounce = new Uint8Array(TAP_MAX_FRAME);

  private constructor(readonly name: string, readonly netns: string, fd: number) {
    this.fdValue = fd;
  }

  /** Open (creating if needed) the TAP interface `name`. Needs root (CAP_NET_ADMIN). */
  static open(name: string, options: TapOpenOptions = {}): TapDevice {
    checkInterfaceName(name);
    let netns = options.netns;
    if (netns === undefined) netns = findInterfaceNamespace(name) ?? '';
    const attach = () => openTapHere(name);
    const fd = netns === '' ? attach() : inNetworkNamespace(netns, attach);
    return new TapDevice(name, netns, fd);
  }

  get fd(): number {
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue < 0;
  }

  /**
   * Read one frame the kernel transmitted into `into`; returns its length, or 0 if none is waiting.
   * A frame longer than `into` is truncated to into.length.
   */
  read(into: Uint8Array): number {
    if (this.fdValue < 0) return 0;
    const b = bindings();
    const n = b.read(this.fdValue, this.bounce, this.bounce.length);
    if (n < 0) {
      const e = b.errno();
      if (e === EAGAIN || e === EINTR) return 0;
      throw new TinyNfError(`read from TAP ${this.name} failed: errno ${e}`);
    }
    const length = n < into.length ? n : into.length;
    const bounce = this.bounce;
    for (let i = 0; i < length; i++) into[i] = bounce[i];
    return length;
  }

  /** Give one frame to the kernel as if received on the interface. Returns false (and counts) on failure. */
  write(frame: Uint8Array, length: number): boolean {
    if (this.fdValue < 0) return false;
    const bounce = this.bounce;
    const n = length < bounce.length ? length : bounce.length;
    for (let i = 0; i < n; i++) bounce[i] = frame[i];
    const written = bindings().write(this.fdValue, bounce, n);
    if (written !== n) {
      this.writeErrors++;
      return false;
    }
    return true;
  }

  /** Close the fd (idempotent). A non-persistent TAP disappears with its last fd. */
  close(): void {
    if (this.fdValue < 0) return;
    libc().close(this.fdValue);
    this.fdValue = -1;
  }
}

/** open /dev/net/tun non-blocking and TUNSETIFF a TAP named `name` in the current namespace; returns the fd. */
function openTapHere(name: string): number {
  const l = libc();
  const fd = l.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    throw new TinyNfError(`${lastError('cannot open /dev/net/tun')}; TAP devices need root (CAP_NET_ADMIN) and the tun module`);
  }
  // struct ifreq: char ifr_name[IFNAMSIZ]; union { short ifr_flags; ... } at offset 16.
  const ifreq = new Uint8Array(IFREQ_SIZE);
  Buffer.from(ifreq.buffer).write(name, 0, IFNAMSIZ - 1, 'utf8');
  const flags = IFF_TAP | IFF_NO_PI;
  ifreq[16] = flags & 0xff;
  ifreq[17] = (flags >>> 8) & 0xff;
  if (l.ioctl(fd, TUNSETIFF, ifreq) < 0) {
    const errno = l.errno();
    const message = lastError(`cannot attach TAP '${name}' (TUNSETIFF)`);
    l.close(fd);
    throw new TinyNfError(
      errno === EBUSY
        ? `${message}: another process (or wire) already has it open; a TAP has a single reader`
        : `${message}; is '${name}' an existing non-TAP interface, or a TAP with other flags?`,
    );
  }
  return fd;
}
