// Child process of tests/env/hardware-path.test.ts (root, huge pages): our driver on the hardware code path, against
// the in-memory 82599 living in this same process.
//   - the Linux environment's sysfs root is a temporary directory holding the device's files (src/env/device-files.ts):
//     PCI config access is pread/pwrite of <root>/bus/pci/devices/<a>/config, BAR0 an O_SYNC mmap of resource0;
//   - DMA memory is real 2 MiB huge pages (hugetlbfs + /proc/self/pagemap), whose physical addresses the device
//     resolves because InlineDeviceEnvironment registers every allocation with it (addRegion);
//   - the device runs inline: InlineDeviceEnvironment steps it around each of the driver's (real) sleeps, and the
//     forwarding loop steps it between polls of the agents.
// A child process, so the huge pages go back to the pool when it exits and addon buffers live in node's own realm.
// Usage: node hardware-path-child.js <hugetlbfs mount>. Prints one JSON line.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HUGE_PAGE_SIZE } from '../../../src/env/environment';
import { HUGEPAGES_2M_DIR } from '../../../src/env/hugepages';
import { LinuxEnvironment } from '../../../src/env/linux';
import { DriverPorts } from '../../../src/app/driver-ports';
import * as R from '../../../src/ixgbe/registers';
import { CoarseClock } from '../../../src/nf/lib/coarse-clock';
import { createMacRewrite } from '../../../src/nf/simple';
import { InlineDeviceEnvironment, NO_WINDOW_PHYS_BASE, StandaloneDevice } from '../../../src/sim/standalone';
import { CollectingOutput, QueueInput } from '../../../src/sim/wire';

const FRAMES_PER_PORT = 600;

/** A recognisable frame: `n` in the payload, sizes from 60 to 1514. */
function frame(port: number, n: number): Uint8Array {
  const length = 60 + ((n * 97) % (1514 - 60 + 1));
  const f = new Uint8Array(length);
  f.set([0x02, 0, 0, 0, 0, 0x10 + port, 0x02, 0, 0, 0, 0, 0x20 + port, 0x08, 0x00]);
  for (let i = 14; i < length; i++) f[i] = (i * 7 + n + port * 31) & 0xff;
  f[14] = n & 0xff;
  f[15] = n >>> 8;
  return f;
}

function hugePagesFree(): number {
  return Number(/HugePages_Free:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
}

function main(): void {
  const mount = process.argv[2];
  const root = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tinynf-hwpath-'));
  const out: Record<string, unknown> = {};
  try {
    // The device's files make `root` a sysfs root (root/bus/pci/devices/<a>); the huge page pool files are the
    // kernel's (the Linux environment checks free_hugepages before allocating).
    const device = StandaloneDevice.create({ dir: root, ports: 2, dmaBytes: 0, inline: true });
    fs.mkdirSync(path.dirname(path.join(root, HUGEPAGES_2M_DIR)), { recursive: true });
    fs.symlinkSync(path.join('/sys', HUGEPAGES_2M_DIR), path.join(root, HUGEPAGES_2M_DIR));

    const linux = new LinuxEnvironment({ sysfsRoot: root, hugetlbfsMount: mount });
    const env = new InlineDeviceEnvironment(linux, device);
    const inputs = [new QueueInput(), new QueueInput()];
    const outputs = [new CollectingOutput(), new CollectingOutput()];
    for (let p = 0; p < 2; p++) {
      device.attachInput(p, inputs[p], true);
      device.attachOutput(p, outputs[p]);
    }
    const sent: Uint8Array[][] = [[], []];
    for (let p = 0; p < 2; p++) {
      for (let n = 0; n < FRAMES_PER_PORT; n++) {
        const f = frame(p, n);
        sent[p].push(f);
        inputs[p].push(f);
      }
    }

    const freeBefore = hugePagesFree();
    const t0 = performance.now();
    const ports = new DriverPorts(env, device.addresses, 'restricted'); // Device.init on both ports
    out.initMs = performance.now() - t0;
    out.sleepStepsDuringInit = env.sleepSteps;
    const nf = createMacRewrite({}, { clock: new CoarseClock(env), ports: 2 });
    const { forwarders, handlers } = ports.attach(nf);
    out.hugePagesUsed = freeBefore - hugePagesFree();

    // Forwarding: poll both agents, then let the device catch up (real time), until every frame is out.
    const deadline = performance.now() + 20_000;
    let rounds = 0;
    while (performance.now() < deadline) {
      for (let i = 0; i < 2; i++) forwarders[i]!.poll(handlers[i]!);
      device.poll(env.nowNs());
      rounds++;
      if (outputs[0].frames.length + outputs[1].frames.length >= 2 * FRAMES_PER_PORT && device.nics.every((n) => n.stats.txPackets + n.stats.txNullDescriptors >= FRAMES_PER_PORT)) break;
    }
    device.step(env.nowNs());
    out.rounds = rounds;

    // Port p's frames leave port 1 - p, MAC-rewritten (dst 00:00:00:00:00:01, src 0), otherwise unchanged.
    const mismatches: string[] = [];
    for (let p = 0; p < 2; p++) {
      const got = outputs[1 - p].frames;
      if (got.length !== FRAMES_PER_PORT) mismatches.push(`port ${p} -> ${1 - p}: ${got.length} of ${FRAMES_PER_PORT} frames`);
      for (let n = 0; n < Math.min(got.length, FRAMES_PER_PORT); n++) {
        const want = sent[p][n].slice();
        want.fill(0, 0, 12);
        want[5] = 1;
        if (got[n].length !== want.length || !got[n].every((b, i) => b === want[i])) {
          mismatches.push(`port ${p} frame ${n} differs`);
          if (mismatches.length > 5) break;
        }
      }
    }
    out.mismatches = mismatches;
    out.forwarded = forwarders.map((f) => f!.stats.txPackets[0]);
    out.nicStats = device.nics.map((n) => ({ ...n.stats }));
    out.violations = device.violations;
    out.warnings = device.warnings.map((w) => w.rule);

    // Where the NIC's DMA went: regions registered by the environment, at real (huge page) physical addresses.
    const regions = device.memory.regions.slice(1);
    out.regions = regions.map((r) => ({ phys: r.phys, length: r.length }));
    out.regionsAreHugePages = regions.every((r) => r.phys % HUGE_PAGE_SIZE === 0 && r.length === HUGE_PAGE_SIZE && r.phys < NO_WINDOW_PHYS_BASE);
    // The receive ring of port 0, as programmed by the driver through the resource0 mapping, is one of them.
    const regs = new Uint32Array(linux.mapBar0(device.addresses[0]));
    const rdba = regs[R.RDBAL(0) >>> 2] + regs[R.RDBAH(0) >>> 2] * 2 ** 32;
    out.rxRingInHugePage = regions.some((r) => rdba >= r.phys && rdba < r.phys + r.length);
    out.virtToPhysAgrees = regions.every((r) => linux.virtToPhys(r.buffer, 0) === r.phys);
    out.commandRegister = linux.pciRead32(device.addresses[0], 0x04) & 0xffff;
    device.close();
  } catch (e) {
    out.error = { name: (e as Error).name, message: (e as Error).message, stack: (e as Error).stack };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
