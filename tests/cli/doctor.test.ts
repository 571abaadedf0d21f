// `tinynf doctor` as a user runs it (node bin/tinynf.js doctor ...): line format, exit codes, --json, --init with the
// real driver on a temporary sysfs root, and a read-only run on this machine.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LINKS } from '../../src/env/doctor';
import { FakeDevice, createFakeProc, createFakeSysfs, describeAsRoot, isRoot } from '../env/helpers/fake-sysfs';
import { lockHugePages } from '../env/helpers/hugepage-lock';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');
const A = '0000:5e:00.0';
const B = '0000:5e:00.1';
const X520 = { vendor: 0x8086, device: 0x10fb };
/** `ok   <check>: <detail>` or `FAIL <check>: <detail> -> fix: <fix>`; a check is a word, then maybe a PCI address. */
const LINE = /^(?:ok {3}(?<okName>[a-z0-9]+(?: [0-9a-z:.]+)?): (?!.* -> fix: ).+|FAIL (?<failName>[a-z0-9]+(?: [0-9a-z:.]+)?): .+ -> fix: .+)$/;

function checkName(line: string): string {
  const m = LINE.exec(line);
  if (m === null) throw new Error(`not a doctor line: ${line}`);
  return m.groups!.okName ?? m.groups!.failName;
}

function tinynf(...args: string[]): { status: number | null; stdout: string; stderr: string; lines: string[] } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

/** A fake machine (sysfs, procfs, /lib/modules) and the hidden options that point tinynf doctor at it. */
function fakeMachine(devices: FakeDevice[]): { args: string[]; deviceDir(a: string): string; cleanup(): void } {
  const sys = createFakeSysfs({ devices, hugepages: { total: 64, free: 60 } });
  fs.mkdirSync(path.join(sys.root, 'module', 'uio_pci_generic'), { recursive: true });
  const proc = createFakeProc(devices.flatMap((d) => (d.interfaces ?? []).filter((i) => i.operstate === 'up').map((i) => i.name)));
  fs.writeFileSync(path.join(proc.root, 'cmdline'), 'BOOT_IMAGE=/vmlinuz ro default_hugepagesz=2M hugepagesz=2M hugepages=64\n');
  fs.writeFileSync(path.join(proc.root, 'mounts'), 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n');
  const modules = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-modules-'));
  return {
    args: ['--sysfs-root', sys.root, '--proc-root', proc.root, '--modules-root', modules],
    deviceDir: sys.deviceDir,
    cleanup() {
      sys.cleanup();
      proc.cleanup();
      fs.rmSync(modules, { recursive: true, force: true });
    },
  };
}

describe('tinynf doctor on temporary sysfs roots', () => {
  it('an 82599 held by ixgbe with its interface up: FAIL lines with fixes, exit code 1', () => {
    const m = fakeMachine([{ address: A, ...X520, driver: 'ixgbe', interfaces: [{ name: 'ens1f0', operstate: 'up', flags: 0x1003 }] }]);
    try {
      const r = tinynf('doctor', A, ...m.args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(1);
      for (const line of r.lines) expect(line).toMatch(LINE);
      expect(r.lines).toContain(
        `FAIL driver ${A}: bound to ixgbe, which drives the NIC itself: tinynf and the kernel would fight over its registers and rings` +
          ` -> fix: sudo npx tinynf bind ${A} (uio_pci_generic) or sudo npx tinynf unbind ${A}`,
      );
      expect(r.lines).toContain(
        `FAIL interface ${A}: interface ens1f0 is up and has routes: the kernel is using this port` +
          ` -> fix: sudo ip link set ens1f0 down (and move its addresses/routes elsewhere), then sudo npx tinynf bind ${A}`,
      );
      expect(r.lines.filter((l) => l.startsWith('FAIL')).map(checkName)).toEqual([`driver ${A}`, `interface ${A}`]);
    } finally {
      m.cleanup();
    }
  });

  it('unbound 82599 ports on a prepared machine: every line ok, exit code 0', () => {
    const m = fakeMachine([{ address: A, ...X520 }, { address: B, ...X520, driver: 'uio_pci_generic' }]);
    try {
      const r = tinynf('doctor', A, B, ...m.args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(isRoot ? 0 : 1);
      const notOk = r.lines.filter((l) => !l.startsWith('ok   '));
      expect(notOk).toEqual(isRoot ? [] : [expect.stringMatching(/^FAIL root: /)]);
      expect(r.lines).toHaveLength(8 + 2 * 7);
      expect(r.lines).toContain('ok   hugepages: 60 of 64 reserved 2 MiB huge pages free');
      expect(r.lines).toContain(`ok   driver ${B}: uio_pci_generic`);
    } finally {
      m.cleanup();
    }
  });

  it('a wrong id and a missing device FAIL, exit code 1', () => {
    const m = fakeMachine([{ address: A, vendor: 0x8086, device: 0x1521 }]);
    try {
      const r = tinynf('doctor', A, '0000:99:00.0', ...m.args);
      expect(r.status).toBe(1);
      expect(r.lines).toContain(
        `FAIL ids ${A}: 8086:1521 is not an Intel 82599; tinynf drives only the 82599ES (8086:10fb) -> fix: use an 82599ES SFP+ port (8086:10fb); npx tinynf devices marks them`,
      );
      expect(r.lines.filter((l) => l.includes('0000:99:00.0'))).toEqual([
        `FAIL device 0000:99:00.0: no PCI device at 0000:99:00.0 (nothing at ${m.deviceDir('0000:99:00.0')}) -> fix: npx tinynf devices lists the PCI network devices; check the address`,
      ]);
    } finally {
      m.cleanup();
    }
  });

  it('--json prints one object whose checks are the lines, and the same exit code', () => {
    const m = fakeMachine([{ address: A, ...X520, driver: 'ixgbe' }]);
    try {
      const text = tinynf('doctor', A, ...m.args);
      const json = tinynf('doctor', A, '--json', ...m.args);
      expect(json.lines).toHaveLength(1);
      const report = JSON.parse(json.lines[0]) as { ok: boolean; checks: { name: string; ok: boolean; detail: string; fix: string | null }[] };
      expect(json.status).toBe(text.status);
      expect(report.ok).toBe(false);
      expect(report.checks.map((c) => (c.ok ? `ok   ${c.name}: ${c.detail}` : `FAIL ${c.name}: ${c.detail} -> fix: ${c.fix}`))).toEqual(text.lines);
      expect(report.checks.filter((c) => c.ok).every((c) => c.fix === null)).toBe(true);
    } finally {
      m.cleanup();
    }
  });

  it('--help says that --init resets the device', () => {
    const r = tinynf('doctor', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('this RESETS the device');
    expect(r.stdout).not.toContain('--sysfs-root');
  });
});

describeAsRoot('tinynf doctor --init: the real driver (Device.init) through the Linux environment', () => {
  // The file standing in for BAR0 holds what an 82599 would show after its reset: EEC.EE_PRES|AUTO_RD (Section
  // 8.2.3.2.1), RDRXCTL.DMAIDONE (Section 8.2.3.8.8) and a LINKS value. A file answers nothing by itself, so a
  // small process plays the one handshake the driver waits for: CTRL.RST (bit 26 at offset 0) self-clearing
  // (Section 8.2.3.1.1); it writes a marker file each time it clears the bit. This checks the wiring (init, then
  // LINKS through mapBar0), not the driver's other handshakes.
  function clearResets(file: string): { marker: string; stop: () => void } {
    const marker = `${file}.resets`;
    const script = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(file)}, 'r+');
      const b = Buffer.alloc(4);
      setInterval(() => {
        fs.readSync(fd, b, 0, 4, 0);
        const ctrl = b.readUInt32LE(0);
        if ((ctrl & (1 << 26)) !== 0) {
          b.writeUInt32LE((ctrl & ~(1 << 26)) >>> 0, 0);
          fs.writeSync(fd, b, 0, 4, 0);
          fs.appendFileSync(${JSON.stringify(marker)}, 'reset\\n');
        }
      }, 1);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    return { marker, stop: () => child.kill('SIGKILL') };
  }
  function preset(file: string, links: number): void {
    const bar0 = fs.readFileSync(file);
    bar0.writeUInt32LE((1 << 8) | (1 << 9), 0x10010); // EEC
    bar0.writeUInt32LE(1 << 3, 0x02f00); // RDRXCTL
    bar0.writeUInt32LE(links >>> 0, LINKS);
    fs.writeFileSync(file, bar0);
  }

  it('initialises an unbound port (the driver writes CTRL.RST into BAR0) and reports the link from LINKS', () => {
    const m = fakeMachine([{ address: A, ...X520 }]);
    try {
      const resource0 = path.join(m.deviceDir(A), 'resource0');
      preset(resource0, 0x70000000);
      const device = clearResets(resource0);
      let r: ReturnType<typeof tinynf>;
      try {
        r = tinynf('doctor', A, '--init', ...m.args);
      } finally {
        device.stop();
      }
      expect(r.stderr).toBe('');
      expect(r.lines[r.lines.length - 1]).toBe(`ok   link ${A}: up at 10 Gb/s after init (LINKS 0x70000000)`);
      expect(r.status).toBe(0);
      // CTRL.RST: the software reset the driver issued went through the mapping of resource0 and was seen in the file
      expect(fs.readFileSync(device.marker, 'utf8').length).toBeGreaterThan(0);
    } finally {
      m.cleanup();
    }
  });

  it('a link that stays down FAILs after the timeout, exit code 1', () => {
    const m = fakeMachine([{ address: A, ...X520 }]);
    try {
      const resource0 = path.join(m.deviceDir(A), 'resource0');
      preset(resource0, 0x30000000);
      const device = clearResets(resource0);
      let r: ReturnType<typeof tinynf>;
      try {
        r = tinynf('doctor', A, '--init', '--link-timeout-ms', '200', ...m.args);
      } finally {
        device.stop();
      }
      expect(r.status).toBe(1);
      expect(r.lines[r.lines.length - 1]).toMatch(new RegExp(`^FAIL link ${A}: down after init \\(LINKS 0x30000000, LINK_UP = 0 for 0.2 s\\) -> fix: `));
    } finally {
      m.cleanup();
    }
  });

  it('never initialises a port bound to ixgbe: its BAR0 file is left byte for byte as it was', () => {
    const m = fakeMachine([{ address: A, ...X520, driver: 'ixgbe' }]);
    try {
      const resource0 = path.join(m.deviceDir(A), 'resource0');
      const config = path.join(m.deviceDir(A), 'config');
      const before = [fs.readFileSync(resource0), fs.readFileSync(config)];
      const r = tinynf('doctor', A, '--init', ...m.args);
      expect(r.status).toBe(1);
      expect(r.lines[r.lines.length - 1]).toMatch(new RegExp(`^FAIL link ${A}: not attempted: `));
      // (Buffer.equals: jest's deep equality walks 512 KiB byte by byte, slowly)
      expect(fs.readFileSync(resource0).equals(before[0])).toBe(true);
      expect(fs.readFileSync(config).equals(before[1])).toBe(true);
    } finally {
      m.cleanup();
    }
  });
});

describe("tinynf doctor on this machine (read only; verdicts are the machine's own)", () => {
  it('prints one well-formed line per check; exit code 0 exactly when none FAILs; root ok when root', () => {
    const pool = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
    // the pool is the machine's: tests that reserve and restore it (hugepage-lock.ts) must not run meanwhile, or
    // "doctor changed nothing" below would see their changes (it did once: 3 pages before, 0 after)
    const release = lockHugePages();
    let r: ReturnType<typeof tinynf>;
    try {
      const before = fs.existsSync(pool) ? fs.readFileSync(pool, 'utf8') : '';
      r = tinynf('doctor');
      expect(fs.existsSync(pool) ? fs.readFileSync(pool, 'utf8') : '').toBe(before);
    } finally {
      release();
    }
    expect(r.stderr).toBe('');
    expect(r.lines.length).toBeGreaterThanOrEqual(5);
    for (const line of r.lines) expect(line).toMatch(LINE);
    expect(r.lines.slice(0, 6).map(checkName)).toEqual(['root', 'cpu', 'addon', 'hugepages', 'hugetlbfs', 'iommu']);
    // this checkout's own addon (built by npm ci) loads
    expect(r.lines[2]).toMatch(/^ok {3}addon: .*tinynf_shm\.node loads/);
    expect(r.status).toBe(r.lines.some((l) => l.startsWith('FAIL')) ? 1 : 0);
    if (isRoot) expect(r.lines[0]).toBe('ok   root: running as root (uid 0)');
    // eslint-disable-next-line no-console
    console.log(`tinynf doctor on this machine (exit ${r.status}):\n${r.stdout}`);
  });
});

describe('a reader that goes away', () => {
  it('`tinynf doctor | head -1`: the command ends as it would (its exit code), no EPIPE stack trace', async () => {
    // stdout closed by the reader after the first line, as head does
    const child = spawn(process.execPath, [BIN, 'doctor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toBe('');
    expect([0, 1]).toContain(status);
  });
});
