// The QEMU lab's guest image: a Debian kernel and a small busybox initramfs, prepared from Debian packages into a
// cache directory outside the repository (never committed).
//
// Cache layout (one directory per kernel release):
//   CACHE/KVER/vmlinuz                   the kernel (boot/vmlinuz-KVER of linux-image-KVER)
//   CACHE/KVER/lib/modules/KVER/...      its modules, with modules.dep made by `depmod -b` (package kmod); the
//                                        guest bind-mounts this over /lib/modules/KVER so the host's modprobe works
//   CACHE/KVER/initramfs-HASH.cpio.gz    busybox-static + the boot modules + our /init; HASH covers the init
//                                        script and the module list, so changing either rebuilds it
//   CACHE/KVER/ready                     written last: the directory is complete
//
// The guest sees CACHE through the host root shared over 9p, so CACHE must be on the host's root file system
// (any path is: the whole / is shared read-only).
//
// Tools used (host): apt-cache + apt-get download (only when the kernel is not cached yet; `apt-get download`
// needs no root), dpkg-deb, depmod (kmod), cpio, gzip, and /bin/busybox from busybox-static.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { TinyNfError } from '../env/environment';
import { INIT_SCRIPT } from './init';

/**
 * Modules insmod'ed by the initramfs, in dependency order (measured: any other order fails with "unknown symbol").
 * virtio_pci binds every virtio device (9p and the NICs); 9p + overlay make the root.
 */
export const BOOT_MODULES: readonly string[] = [
  'kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
  'kernel/drivers/virtio/virtio_pci.ko',
  'kernel/net/9p/9pnet.ko',
  'kernel/net/9p/9pnet_virtio.ko',
  'kernel/fs/netfs/netfs.ko',
  'kernel/fs/fscache/fscache.ko',
  'kernel/fs/9p/9p.ko',
  'kernel/fs/overlayfs/overlay.ko',
];

/** Where the busybox-static package puts its binary. */
export const BUSYBOX_STATIC = '/bin/busybox';

export interface GuestImage {
  /** Kernel release, e.g. 6.1.0-57-amd64. */
  kver: string;
  /** CACHE/KVER */
  dir: string;
  kernel: string;
  initramfs: string;
  /** CACHE/KVER/lib/modules/KVER (bind-mounted over /lib/modules/KVER in the guest). */
  modulesDir: string;
}

export interface PrepareOptions {
  /** Cache directory (default: defaultCacheDir()). */
  cacheDir?: string;
  /**
   * Debian kernel package, e.g. linux-image-6.1.0-57-amd64. Default: the one the linux-image-amd64 metapackage
   * depends on (apt-cache depends), or the newest one already in the cache when apt knows none.
   */
  kernelPackage?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** $TINYNF_VM_CACHE, else /var/cache/tinynf-vm as root, else ~/.cache/tinynf-vm. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.TINYNF_VM_CACHE;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  if (typeof process.geteuid === 'function' && process.geteuid() === 0) return '/var/cache/tinynf-vm';
  return path.join(os.homedir(), '.cache', 'tinynf-vm');
}

/** The kernel package the linux-image-amd64 metapackage names (one version), or null if apt does not know it. */
export function currentKernelPackage(): string | null {
  const r = spawnSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const m = /Depends:\s+(linux-image-\d[^\s]*-amd64)\b/.exec(r.stdout);
  return m === null ? null : m[1];
}

function kverOf(pkg: string): string {
  const m = /^linux-image-(\d[0-9.]*-\d+-amd64)$/.exec(pkg);
  if (m === null) {
    throw new TinyNfError(`'${pkg}' is not a Debian amd64 kernel package name like linux-image-6.1.0-57-amd64 (the -cloud- flavour lacks 9p)`);
  }
  return m[1];
}

function initramfsName(kver: string): string {
  const h = crypto.createHash('sha256').update(INIT_SCRIPT).update(BOOT_MODULES.join('\n')).update(kver).digest('hex');
  return `initramfs-${h.slice(0, 12)}.cpio.gz`;
}

/** A cached image (without preparing anything), or null. Picks `kernelPackage`'s release, else the newest ready one. */
export function findCachedImage(cacheDir: string = defaultCacheDir(), kernelPackage?: string): GuestImage | null {
  let kvers: string[];
  if (kernelPackage !== undefined) {
    kvers = [kverOf(kernelPackage)];
  } else {
    try {
      kvers = fs
        .readdirSync(cacheDir)
        .filter((k) => fs.existsSync(path.join(cacheDir, k, 'ready')))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
        .reverse();
    } catch {
      return null;
    }
  }
  for (const kver of kvers) {
    const image = imageAt(cacheDir, kver);
    if (fs.existsSync(path.join(image.dir, 'ready')) && fs.existsSync(image.initramfs)) return image;
  }
  return null;
}

function imageAt(cacheDir: string, kver: string): GuestImage {
  const dir = path.join(path.resolve(cacheDir), kver);
  return {
    kver,
    dir,
    kernel: path.join(dir, 'vmlinuz'),
    initramfs: path.join(dir, initramfsName(kver)),
    modulesDir: path.join(dir, 'lib', 'modules', kver),
  };
}

function run(cmd: string, args: string[], what: string, options: { cwd?: string; input?: Buffer; timeoutMs?: number } = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: options.cwd, input: options.input, timeout: options.timeoutMs ?? 300_000, maxBuffer: 1 << 30 });
  if (r.error !== undefined) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TinyNfError(missing ? `${what} needs '${cmd}' (see docs/virtio.md: qemu-system-x86 kmod cpio busybox-static)` : `${what}: ${r.error.message}`);
  }
  if (r.status !== 0) throw new TinyNfError(`${what} failed (${cmd} ${args.join(' ')}): ${r.stderr.toString().trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout;
}

/**
 * Make sure the cache holds a complete image (kernel, modules, initramfs) and return it. Downloads the kernel
 * package only when its release is not cached yet; rebuilds only the initramfs when our init script changed.
 */
export function prepareImage(options: PrepareOptions = {}): GuestImage {
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const log = options.log ?? (() => undefined);
  let pkg = options.kernelPackage;
  if (pkg === undefined) {
    pkg = currentKernelPackage() ?? undefined;
    if (pkg === undefined) {
      const cached = findCachedImage(cacheDir);
      if (cached !== null) return cached;
      throw new TinyNfError('cannot tell which kernel to use: apt-cache knows no linux-image-amd64 (run apt-get update, or pass --kernel-package)');
    }
  }
  const kver = kverOf(pkg);
  const image = imageAt(cacheDir, kver);
  fs.mkdirSync(image.dir, { recursive: true });

  if (!fs.existsSync(path.join(image.dir, 'ready'))) {
    log(`downloading ${pkg} (apt-get download) into ${image.dir}`);
    const tmp = fs.mkdtempSync(path.join(image.dir, 'download-'));
    try {
      run('apt-get', ['download', pkg], `downloading ${pkg}`, { cwd: tmp });
      const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (deb === undefined) throw new TinyNfError(`apt-get download ${pkg} left no .deb`);
      const x = path.join(tmp, 'x');
      log(`extracting ${deb}`);
      run('dpkg-deb', ['-x', path.join(tmp, deb), x], `extracting ${deb}`);
      fs.rmSync(path.join(image.dir, 'lib'), { recursive: true, force: true });
      fs.mkdirSync(path.join(image.dir, 'lib', 'modules'), { recursive: true });
      fs.renameSync(path.join(x, 'lib', 'modules', kver), image.modulesDir);
      fs.renameSync(path.join(x, 'boot', `vmlinuz-${kver}`), image.kernel);
      log('depmod');
      run('depmod', ['-b', image.dir, kver], 'depmod (package kmod)');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    fs.writeFileSync(path.join(image.dir, 'ready'), `${pkg}\n`);
  }

  if (!fs.existsSync(image.initramfs)) {
    log(`building ${path.basename(image.initramfs)}`);
    buildInitramfs(image);
  }
  return image;
}

function buildInitramfs(image: GuestImage): void {
  if (!fs.existsSync(BUSYBOX_STATIC)) throw new TinyNfError(`${BUSYBOX_STATIC} is missing: apt-get install busybox-static`);
  const root = fs.mkdtempSync(path.join(image.dir, 'initramfs-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'modules', 'lower', 'upper', 'newroot']) fs.mkdirSync(path.join(root, d));
    fs.copyFileSync(BUSYBOX_STATIC, path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
    BOOT_MODULES.forEach((m, i) => {
      const from = path.join(image.modulesDir, m);
      if (!fs.existsSync(from)) throw new TinyNfError(`kernel ${image.kver} has no ${m}: not a Debian amd64 (non-cloud) kernel?`);
      fs.copyFileSync(from, path.join(root, 'modules', `${String(i).padStart(2, '0')}-${path.basename(m)}`));
    });
    fs.writeFileSync(path.join(root, 'init'), INIT_SCRIPT, { mode: 0o755 });
    const list = run('sh', ['-c', 'find . -print0 | LC_ALL=C sort -z'], 'listing the initramfs', { cwd: root });
    const cpio = run('cpio', ['--null', '-o', '-H', 'newc', '--quiet', '--owner=0:0'], 'cpio (package cpio)', { cwd: root, input: list });
    const gz = run('gzip', ['-1', '-n'], 'gzip', { input: cpio });
    const tmpFile = `${image.initramfs}.tmp${process.pid}`;
    fs.writeFileSync(tmpFile, gz);
    fs.renameSync(tmpFile, image.initramfs);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
