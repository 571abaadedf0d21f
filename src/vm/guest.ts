// Boot a QEMU guest (TCG: KVM does not work on our machines) with N virtio-net NICs, run one command in it, collect
// its output, tear everything down. See docs/virtio.md ("The QEMU lab") for the whole picture.
//
// The guest's root is the host's root (9p, read-only) under a tmpfs overlay, so the command runs the host's node on
// the host's compiled tree (`node dist/...js`, run from `cwd`, which the guest sees at the same path). Host and
// guest share one more directory, the job directory (read-write): job.conf and job.sh in, stdout, stderr, rc and
// whatever the command writes out. Files also signal: the command may write JOB/ready, the host may write JOB/stop
// (see Guest.waitForFile / Guest.writeFile).
//
// NIC i is PCI device 00:(0x10+i).0 in the guest (nicAddress(i)), MAC 52:54:00:74:6e:(0x10+i) unless given.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { TinyNfError } from '../env/environment';
import { TapDevice } from '../env/tap';
import { GuestImage, prepareImage } from './image';

/** modern: virtio 1.x (1af4:1041, memory BAR); legacy: virtio 0.9.5 (1af4:1000, I/O BAR0). */
export type NicVariant = 'modern' | 'legacy';

/** Where a NIC's frames go on the host side. */
export type NicBackend =
  /** A TAP device (persistent, e.g. made by labUp) opened by us, in `netns` if given, and handed to QEMU as an fd. */
  | { kind: 'tap'; ifname: string; netns?: string }
  /** A QEMU hub: NICs on the same hub number see each other's frames (two NICs on one hub = a loopback cable). */
  | { kind: 'hub'; hub: number }
  /** Frames as UDP datagrams (`-netdev socket,udp=REMOTE,localaddr=LOCAL`), e.g. 127.0.0.1:P: no root needed. */
  | { kind: 'socket'; udp: string; localaddr: string };

export interface NicOptions {
  backend: NicBackend;
  /** Default: GuestOptions.variant. */
  variant?: NicVariant;
  mac?: string;
}

export interface GuestOptions {
  /** The command (argv), or a shell script (run by the host's /bin/sh in the guest). */
  command: string[] | { script: string };
  /** Default: prepareImage() (downloads and builds into the cache on first use). */
  image?: GuestImage;
  nics?: NicOptions[];
  /** Default variant of the NICs: 'modern'. */
  variant?: NicVariant;
  /**
   * q35 machine with an emulated Intel IOMMU (intremap=on, caching-mode=on) and guest kernel parameters
   * intel_iommu=on iommu=pt; modern NICs get iommu_platform=on,ats=on (for VFIO in the guest). Default false
   * (the i440fx `pc` machine, no IOMMU).
   */
  iommu?: boolean;
  /** Extra guest kernel parameters. */
  kernelParams?: string[];
  /** Default 1024. */
  memoryMiB?: number;
  /** Default 2. */
  cpus?: number;
  /** 2 MiB huge pages reserved at boot (hugepages=N). Default 128. */
  hugepages?: number;
  /** Modules modprobe'd in the guest before the command (e.g. uio_pci_generic, vfio-pci). */
  modules?: string[];
  /** Move the NICs from virtio_pci to this driver before the command (its module is loaded first). Default: none. */
  bindNics?: 'uio_pci_generic' | 'vfio-pci' | null;
  /** Working directory of the command (default process.cwd()); must be on the host root (it always is). */
  cwd?: string;
  /** Extra environment of the command (PATH, HOME, TNFVM_JOB and TNFVM_NICS are set already). */
  env?: Record<string, string>;
  /** Whole run, boot included (default 300 s): QEMU is killed at the deadline. */
  timeoutMs?: number;
  /** Keep the job directory after the run (the caller removes it). Default false. */
  keepJobDir?: boolean;
  /** Serial console output as it arrives (kernel log, init's "tnfvm: " lines). */
  onConsole?: (text: string) => void;
}

export interface GuestResult {
  /** The command's exit status; null if it never finished (timeout, boot failure: see console). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Serial console (kernel messages, init's lines) and QEMU's own stderr. */
  console: string;
  /** An init step failed (its message), or null. */
  initError: string | null;
  timedOut: boolean;
  /** From QEMU's start to the command's start (init's "job start" line), or null. */
  bootMs: number | null;
  totalMs: number;
  jobDir: string;
}

export interface Guest {
  /** The host directory shared with the guest at the same path (removed after the run unless keepJobDir). */
  readonly jobDir: string;
  /** PCI addresses of the NICs in the guest, in order. */
  readonly nicAddresses: string[];
  /** QEMU's argv (for messages). */
  readonly qemuArgs: string[];
  readonly done: Promise<GuestResult>;
  /** Resolves true when JOB/name exists, false if the guest ended or the timeout passed first. */
  waitForFile(name: string, timeoutMs: number): Promise<boolean>;
  /** Write JOB/name (the guest sees it at once). */
  writeFile(name: string, data: string): void;
  /** Kill QEMU now (the result then has exitCode null unless the command had finished). */
  kill(): void;
}

export const QEMU = 'qemu-system-x86_64';
/** First PCI slot of the NICs in the guest. */
export const NIC_FIRST_SLOT = 0x10;

/** PCI address of NIC `i` in the guest. */
export function nicAddress(i: number): string {
  return `0000:00:${(NIC_FIRST_SLOT + i).toString(16).padStart(2, '0')}.0`;
}

function defaultMac(i: number): string {
  return `52:54:00:74:6e:${(NIC_FIRST_SLOT + i).toString(16).padStart(2, '0')}`;
}

/** Why a guest cannot be booted here (QEMU or a prepared image missing), or null. Does not download anything. */
export function vmSkipReason(image: GuestImage | null): string | null {
  if (spawnSync(QEMU, ['--version'], { stdio: 'ignore', timeout: 10_000 }).error !== undefined) {
    return `${QEMU} is not installed (apt-get install qemu-system-x86)`;
  }
  if (image === null) return 'no guest image is prepared (run: tinynf vm prepare)';
  return null;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const liveGuests = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Boot a guest and start its command; the returned Guest resolves `done` when QEMU has exited. */
export function startGuest(options: GuestOptions): Guest {
  const image = options.image ?? prepareImage();
  const nics = options.nics ?? [];
  if (nics.length > 16) throw new TinyNfError('at most 16 NICs per guest');
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const hugepages = options.hugepages ?? 128;
  const memoryMiB = options.memoryMiB ?? 1024;
  if (hugepages * 2 + 256 > memoryMiB) throw new TinyNfError(`${hugepages} huge pages do not fit ${memoryMiB} MiB of guest memory (leave 256 MiB)`);
  const jobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tnfvm-job-'));
  const nicAddresses = nics.map((_, i) => nicAddress(i));

  const modules = [...(options.modules ?? [])];
  const bind = options.bindNics ?? null;
  if (bind !== null && !modules.includes(bind)) modules.push(bind);
  const conf = [
    `TNFVM_KVER=${shellQuote(image.kver)}`,
    `TNFVM_MODULES=${shellQuote(image.modulesDir)}`,
    `TNFVM_JOB=${shellQuote(jobDir)}`,
    `TNFVM_MODPROBE=${shellQuote(modules.join(' '))}`,
    `TNFVM_BIND_NICS=${shellQuote(bind === null ? '' : nicAddresses.join(' '))}`,
    `TNFVM_BIND_DRIVER=${shellQuote(bind ?? '')}`,
  ];
  fs.writeFileSync(path.join(jobDir, 'job.conf'), conf.join('\n') + '\n');
  const env: Record<string, string> = {
    PATH: [path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
    HOME: '/root',
    TNFVM_JOB: jobDir,
    TNFVM_NICS: nicAddresses.join(' '),
    ...(options.env ?? {}),
  };
  const script = [
    `cd ${shellQuote(cwd)} || exit 125`,
    ...Object.entries(env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TinyNfError(`invalid environment variable name '${k}'`);
      return `export ${k}=${shellQuote(v)}`;
    }),
    Array.isArray(options.command) ? `exec ${options.command.map(shellQuote).join(' ')}` : options.command.script,
  ];
  fs.writeFileSync(path.join(jobDir, 'job.sh'), script.join('\n') + '\n');

  const params = ['console=ttyS0', 'panic=-1', 'edd=off', 'quiet', 'loglevel=4', `hugepagesz=2M`, `hugepages=${hugepages}`];
  // no_timer_check: with interrupt remapping, a guest kernel whose boot-time IO-APIC timer check fails (TCG on a busy
  // host is too slow for it) panics ("timer doesn't work through Interrupt-remapped IO-APIC"); seen once in the VFIO
  // tests. The check only guards against broken timer wiring, which QEMU's q35 does not have.
  if (options.iommu === true) params.push('intel_iommu=on', 'iommu=pt', 'no_timer_check');
  params.push(...(options.kernelParams ?? []));
  const args = [
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
    '-accel', 'tcg,thread=multi', '-cpu', 'max',
    '-machine', options.iommu === true ? 'q35' : 'pc',
    '-smp', String(options.cpus ?? 2), '-m', String(memoryMiB),
    '-kernel', image.kernel, '-initrd', image.initramfs, '-append', params.join(' '),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${jobDir},mount_tag=tnfvmjob,security_model=none`,
  ];
  if (options.iommu === true) args.push('-device', 'intel-iommu,intremap=on,caching-mode=on');

  // TAP fds are handed to QEMU as fds 3, 4, ... (stdio entries after stdin/stdout/stderr).
  const taps: TapDevice[] = [];
  const stdio: (number | 'pipe' | 'ignore')[] = ['ignore', 'pipe', 'pipe'];
  try {
    nics.forEach((nic, i) => {
      const id = `n${i}`;
      const b = nic.backend;
      if (b.kind === 'tap') {
        const tap = TapDevice.open(b.ifname, { netns: b.netns ?? '' });
        taps.push(tap);
        stdio.push(tap.fd);
        args.push('-netdev', `tap,id=${id},fd=${stdio.length - 1}`);
      } else if (b.kind === 'hub') {
        args.push('-netdev', `hubport,id=${id},hubid=${b.hub}`);
      } else {
        args.push('-netdev', `socket,id=${id},udp=${b.udp},localaddr=${b.localaddr}`);
      }
      const variant = nic.variant ?? options.variant ?? 'modern';
      let dev = `virtio-net-pci,netdev=${id},mac=${nic.mac ?? defaultMac(i)},addr=0x${(NIC_FIRST_SLOT + i).toString(16)}`;
      dev += variant === 'modern' ? ',disable-legacy=on,disable-modern=off' : ',disable-legacy=off,disable-modern=on';
      if (options.iommu === true && variant === 'modern') dev += ',iommu_platform=on,ats=on';
      args.push('-device', dev);
    });
  } catch (e) {
    for (const t of taps) t.close();
    fs.rmSync(jobDir, { recursive: true, force: true });
    throw e;
  }

  const started = Date.now();
  const child = spawn(QEMU, args, { stdio });
  for (const t of taps) t.close(); // QEMU has its own copies now
  liveGuests.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveGuests) c.kill('SIGKILL');
    });
  }
  let consoleText = '';
  let bootMs: number | null = null;
  let ended = false;
  const onText = (d: Buffer) => {
    const text = d.toString();
    consoleText += text;
    if (bootMs === null && consoleText.includes('tnfvm: job start')) bootMs = Date.now() - started;
    options.onConsole?.(text);
  };
  child.stdout!.on('data', onText);
  child.stderr!.on('data', onText);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 300_000);

  const readJob = (name: string): string | null => {
    try {
      return fs.readFileSync(path.join(jobDir, name), 'utf8');
    } catch {
      return null;
    }
  };
  const done = new Promise<GuestResult>((resolve) => {
    let settled = false;
    const finish = (spawnError: string | null) => {
      if (settled) return;
      settled = true;
      ended = true;
      clearTimeout(timer);
      liveGuests.delete(child);
      if (spawnError !== null) consoleText += `\n${spawnError}\n`;
      const rc = readJob('rc');
      const result: GuestResult = {
        exitCode: rc === null || rc.trim() === '' ? null : Number(rc.trim()),
        stdout: readJob('stdout') ?? '',
        stderr: readJob('stderr') ?? '',
        console: consoleText,
        initError: readJob('init-error'),
        timedOut,
        bootMs,
        totalMs: Date.now() - started,
        jobDir,
      };
      if (options.keepJobDir !== true) fs.rmSync(jobDir, { recursive: true, force: true });
      resolve(result);
    };
    child.on('close', () => finish(null));
    child.on('error', (e) => {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      finish(missing ? `${QEMU} is not installed (apt-get install qemu-system-x86)` : `${QEMU}: ${e.message}`);
    });
  });

  return {
    jobDir,
    nicAddresses,
    qemuArgs: args,
    done,
    async waitForFile(name: string, timeoutMs: number): Promise<boolean> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (fs.existsSync(path.join(jobDir, name))) return true;
        if (ended || Date.now() >= end) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    writeFile(name: string, data: string): void {
      fs.writeFileSync(path.join(jobDir, name), data);
    },
    kill(): void {
      if (!ended) child.kill('SIGKILL');
    },
  };
}

/** startGuest and wait for the end. */
export function runGuest(options: GuestOptions): Promise<GuestResult> {
  return startGuest(options).done;
}
