// Our virtio-net driver on VFIO, for real: a QEMU guest with intel-iommu (interrupt remapping on, guest
// intel_iommu=on iommu=pt) and two modern virtio-net NICs (iommu_platform=on,ats=on) whose host sides are the TAPs of
// a routed two-namespace lab. The NICs are bound to vfio-pci, so `tinynf run nop --virtio A B` picks the VFIO
// environment: every ring and buffer address the NICs get is an IOVA above the guest's RAM, translated by the IOMMU.
// The host namespaces' kernels ping and fetch a page through it; the guest confirms the NF held /dev/vfio fds and
// that the IOMMU logged no fault. The legacy variant: a legacy virtio device cannot negotiate ACCESS_PLATFORM, so
// QEMU sends its DMA untranslated; the VFIO environment sees a 1af4:1000 device and maps every page at IOVA =
// its physical address (iova 'physical'), and its I/O BAR0 is reached by pread/pwrite of the device fd.
import * as fs from 'fs';
import * as path from 'path';
import { LabOptions, labDown, labUp } from '../../src/env/lab';
import { startGuest } from '../../src/vm';
import { addr, hasProgram, nsRun, startHttpServer, tempDir, useScope, waitFor } from '../e2e/harness';
import { cachedImage, describeVm, lockGuest } from './helpers';

const REPO = path.join(__dirname, '..', '..', '..');
jest.setTimeout(420_000);

const missing = ['ping', 'curl', 'python3'].filter((p) => !hasProgram(p, p === 'ping' ? '-V' : '--version'));
const describeIf = missing.length > 0 ? (console.warn(`SKIPPED vm vfio e2e: ${missing.join(', ')} not installed`), describe.skip) : describeVm('vfio e2e', true);

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describeIf('virtio-net on VFIO in a QEMU guest behind intel-iommu: host traffic through nop (root, qemu, prepared image)', () => {
  const scope = useScope();

  for (const variant of ['modern', 'legacy'] as const) {
    test(`${variant}: run --virtio picks VFIO for ports on vfio-pci; ping and curl cross; no IOMMU fault`, async () => {
      const release = await lockGuest();
      scope.defer('guest lock', release);
      const id = process.pid % 100000;
      const v = variant[0];
      const options: LabOptions = { topology: 'routed', lan: { netns: `tnfio${v}l${id}`, tap: `tnfio${v}l${id}` }, wan: { netns: `tnfio${v}w${id}`, tap: `tnfio${v}w${id}` } };
      scope.defer('lab', () => labDown(options));
      const lab = labUp(options);
      const dir = tempDir(scope, 'vm-vfio');
      fs.writeFileSync(path.join(dir, 'index.html'), 'hello through the IOMMU\n');
      await startHttpServer(scope, lab.wan.netns, addr(lab.wan), 8000, dir, 400_000);
      const script = [
        'A=0000:00:10.0; B=0000:00:11.0',
        'node bin/tinynf.js run nop --virtio $A $B --duration 900 --stop-file "$TNFVM_JOB/stop" --json > "$TNFVM_JOB/nf.json" 2> "$TNFVM_JOB/nf.err" &',
        'pid=$!',
        'i=0; while ! grep -q "] rx " "$TNFVM_JOB/nf.err" 2>/dev/null && [ $i -lt 1200 ] && kill -0 $pid 2>/dev/null; do sleep 0.2; i=$((i+1)); done',
        'ls -l /proc/$pid/fd 2>/dev/null | grep -o "/dev/vfio/[0-9a-z]*" | sort | uniq -c > "$TNFVM_JOB/fds"',
        'wait $pid; echo $? > "$TNFVM_JOB/nf.rc"',
        "dmesg | grep -i dmar | grep -i fault > \"$TNFVM_JOB/faults\"; true",
      ].join('\n');
      const guest = startGuest({
        image: cachedImage()!,
        command: { script },
        cwd: REPO,
        iommu: true,
        variant,
        nics: [
          { backend: { kind: 'tap', ifname: lab.lan.tap, netns: lab.lan.netns } },
          { backend: { kind: 'tap', ifname: lab.wan.tap, netns: lab.wan.netns } },
        ],
        bindNics: 'vfio-pci',
        hugepages: 64,
        timeoutMs: 400_000,
        keepJobDir: true,
      });
      scope.defer('guest', () => guest.kill());
      const job = (f: string) => path.join(guest.jobDir, f);
      let exited = false;
      void guest.done.then(() => (exited = true));
      const running = await waitFor(() => exited || fs.existsSync(job('fds')) || fs.existsSync(job('nf.rc')), 300_000, 200);
      if (!running || fs.existsSync(job('nf.rc')) || !/\] rx /.test(readOr(job('nf.err')))) {
        guest.writeFile('stop', '');
        const r = await guest.done;
        fs.rmSync(guest.jobDir, { recursive: true, force: true });
        throw new Error(`tinynf run in the guest is not running: ${readOr(job('nf.err')).slice(-2000)}\n${r.stderr}\n${r.console.slice(-2000)}`);
      }
      const ping = await nsRun(scope, lab.lan.netns, ['ping', '-n', '-c', '5', '-i', '0.3', '-W', '10', addr(lab.wan)], 60_000);
      const curl = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '30', `http://${addr(lab.wan)}:8000/`], 60_000);
      guest.writeFile('stop', '');
      const result = await guest.done;
      const json = JSON.parse(readOr(job('nf.json')).trim().split('\n').pop() || '{}') as Record<string, number>;
      const fds = readOr(job('fds'));
      const faults = readOr(job('faults'));
      const rc = readOr(job('nf.rc')).trim();
      fs.rmSync(guest.jobDir, { recursive: true, force: true });
      console.log(`vm vfio e2e ${variant}: boot ${result.bootMs} ms; nf ${JSON.stringify(json)}; fds:\n${fds}faults: '${faults.trim()}'`);
      expect(result.exitCode).toBe(0);
      expect(ping.stdout).toMatch(/5 packets transmitted, 5 received/);
      expect([curl.code, curl.stdout]).toEqual([0, 'hello through the IOMMU\n']);
      expect(rc).toBe('0');
      expect(json.rx_packets).toBeGreaterThanOrEqual(10);
      expect(json.tx_packets).toBeGreaterThanOrEqual(10);
      // the NF held the VFIO container and both groups open
      expect(fds).toMatch(/\/dev\/vfio\/vfio/);
      expect((fds.match(/\/dev\/vfio\/\d+/g) ?? []).length).toBe(2);
      expect(faults.trim()).toBe('');
    });
  }
});
