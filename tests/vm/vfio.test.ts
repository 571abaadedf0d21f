// VFIO for real: a QEMU guest (q35, intel-iommu with interrupt remapping, guest intel_iommu=on iommu=pt) with three
// modern virtio-net NICs (iommu_platform=on,ats=on) on one QEMU hub, bound to vfio-pci; the guest runs
// tests/vm/vfio-guest-program.ts on our VFIO environment and prints its findings, judged here. See that file for the
// four steps (mapped traffic, a receive and a transmit descriptor outside the mapped range, cleanup and reopen).
import * as path from 'path';
import { nicAddress, startGuest } from '../../src/vm';
import { cachedImage, describeVm, lockGuest } from './helpers';

jest.setTimeout(420_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');

describeVm('vfio', true)('VFIO in a QEMU guest behind intel-iommu (root, qemu, prepared image)', () => {
  test('container/group/device, regions, BAR mmap, MAP_DMA at our IOVAs; unmapped IOVAs are refused; groups reusable', async () => {
    const release = await lockGuest();
    try {
      const addresses = [0, 1, 2].map(nicAddress);
      const guest = startGuest({
        image: cachedImage()!,
        iommu: true,
        hugepages: 16,
        nics: [0, 1, 2].map(() => ({ backend: { kind: 'hub' as const, hub: 0 }, variant: 'modern' as const })),
        // the NICs start on virtio-pci: `tinynf bind --vfio` moves them (and reports each group), `devices` lists them
        bindNics: null,
        modules: ['vfio-pci'],
        cwd: ROOT,
        command: {
          script: [
            'set -e',
            ...addresses.map((a) => `node bin/tinynf.js bind --vfio ${a}`),
            'echo "DEVICES $(node bin/tinynf.js devices --json)"',
            'set +e',
            `node dist/tests/vm/vfio-guest-program.js ${addresses.join(' ')}; rc=$?`,
            "dmesg | grep -i -E 'dmar|iommu' | grep -i fault | head -5 >&2; exit $rc",
          ].join('\n'),
        },
        timeoutMs: 360_000,
      });
      const result = await guest.done;
      if (result.exitCode !== 0) {
        throw new Error(`guest failed (exit ${result.exitCode}, init ${result.initError}):\n${result.stderr}\n${result.console.slice(-3000)}`);
      }
      const out = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, any>;
      console.log(`vfio guest findings: ${JSON.stringify(out)}\nIOMMU faults logged by the guest kernel:\n${result.stderr}`);
      const lines = result.stdout.trim().split('\n');
      // tinynf bind --vfio, on the guest's real sysfs: unbound from virtio-pci, bound to vfio-pci, group reported
      for (let i = 0; i < 3; i++) {
        expect(lines.slice(i * 3, i * 3 + 3)).toEqual([
          `unbound ${addresses[i]} from virtio-pci`,
          `bound ${addresses[i]} to vfio-pci`,
          expect.stringMatching(/^IOMMU group \d+: 1 device\(s\), viable$/),
        ]);
      }
      const devices = JSON.parse(lines.find((l) => l.startsWith('DEVICES '))!.slice('DEVICES '.length)) as any[];
      const ours = devices.filter((d) => addresses.includes(d.address));
      expect(ours.map((d) => [d.driver, d.iommu_group.viable])).toEqual([['vfio-pci', true], ['vfio-pci', true], ['vfio-pci', true]]);
      // every NIC in its own viable group, bound to vfio-pci
      expect(out.groups.map((g: any) => g.viable)).toEqual([true, true, true]);
      expect(new Set(out.groups.map((g: any) => g.group)).size).toBe(3);
      expect(out.groups[0].devices).toEqual([{ address: addresses[0], driver: 'vfio-pci' }]);
      expect(out.ids).toEqual(['10411af4', '10411af4', '10411af4']);
      // config space region (read/write, not mmap-able) at VFIO_PCI_INDEX_TO_OFFSET(7) = 7 << 40
      expect(out.configRegion).toMatchObject({ index: 7, offset: 7 * 2 ** 40 });
      expect(out.configRegion.flags & 3).toBe(3);
      // the common configuration's BAR: a memory BAR that VFIO lets us mmap
      expect(out.commonBar.flags & 7).toBe(7);
      expect(out.commonBar.size).toBeGreaterThanOrEqual(16 * 1024);
      // VERSION_1 and ACCESS_PLATFORM offered (iommu_platform=on), read alike through mmap and pread
      expect(out.featuresHiMmap & 3).toBe(3);
      expect(out.featuresHiPread).toBe(out.featuresHiMmap);
      expect(out.offeredHi.map((f: number) => f & 3)).toEqual([3, 3, 3]);
      expect(out.statusUp).toEqual([15, 15, 15]);
      // IOVAs are ours (4 GiB and up, above the guest's 1 GiB of RAM), not the physical addresses
      expect(out.iovas).toEqual([0, 1, 2, 3].map((i) => 2 ** 32 + i * 2 * 1024 * 1024));
      for (let i = 0; i < 3; i++) {
        expect(out.physical[i]).toBeGreaterThan(0);
        expect(out.physical[i]).not.toBe(out.iovas[i]);
        expect(out.physical[i]).toBeLessThan(2 ** 32);
      }
      expect(out.mappings.map((m: any) => m.mapped)).toEqual([true, true, true, false]);
      // 1. a frame from mapped memory to mapped memory, through the IOMMU
      expect(out.a).toEqual({ sent: true, rx1: true, rx2: true, rxLen: 12 + 60 });
      // 2. a receive descriptor into the unmapped page: NIC1's write faults (QEMU completes the descriptor as if done:
      //    its DMA went to a bounce buffer that the IOMMU refused to write back); our page is untouched; NIC2 gets B
      expect(out.b).toMatchObject({ warmup: true, sent: true, rx2: true, rx1Used: 3, victimIntact: true });
      // 3. a transmit descriptor from the unmapped page: the read faults, none of the page's bytes leave
      expect(out.c.txUsed).toBe(4);
      expect(out.c.victimBytesSent).toBe(0);
      expect(out.victimIntact).toBe(true);
      // the IOMMU saw both faults, at exactly the IOVAs we gave, from exactly those devices
      const victim = out.iovas[3];
      expect(result.stderr).toContain(`DMA Write NO_PASID] Request device [00:11.0] fault addr 0x${(victim + 4096).toString(16)}`);
      expect(result.stderr).toContain(`DMA Read NO_PASID] Request device [00:10.0] fault addr 0x${victim.toString(16)}`);
      // 4. cleanup leaves the groups reusable
      expect(out.reopen).toEqual(['10411af4', '10411af4', '10411af4']);
      expect(out.reopenDma).toBe(2 ** 32);
      console.log(`vfio guest: boot ${result.bootMs} ms, total ${result.totalMs} ms; IOMMU fault lines: ${JSON.stringify(result.stderr.trim())}`);
    } finally {
      release();
    }
  });
});
