// The bench row of docs/benchmarks.md ("virtio in a QEMU guest"): our two virtio forwarders and dpdk-testpmd on the
// same NICs in one guest boot (src/vm/bench.ts). TCG makes absolute rates meaningless: the test checks that every
// forwarder moved frames for the whole measurement and prints the ratios.
import { spawnSync } from 'child_process';
import { runVirtioBench } from '../../src/vm/bench';
import { cachedImage, describeVm, lockGuest } from './helpers';

jest.setTimeout(900_000); // lockGuest may wait for another file's guest first

const hasTestpmd = spawnSync('dpdk-testpmd', ['--version'], { stdio: 'ignore', timeout: 10_000 }).error === undefined;
const describeBench = hasTestpmd ? describeVm('bench', true) : (console.warn('SKIPPED vm bench: dpdk-testpmd not installed (Debian dpdk-dev)'), describe.skip);

describeBench('virtio bench in a QEMU guest: restricted, flexible, dpdk-testpmd (root, qemu, dpdk-dev)', () => {
  test('each forwarder keeps the injected frames circulating; one row each with its rate and ratio', async () => {
    const release = await lockGuest();
    try {
      const rows = await runVirtioBench({ image: cachedImage()!, variant: 'modern', seconds: 6 });
      expect(rows.map((r) => r.forwarder)).toEqual(['tinynf-restricted', 'tinynf-flexible', 'dpdk-testpmd']);
      for (const r of rows) {
        expect(r.seconds).toBeGreaterThan(5.5);
        // 64 frames circulating: far more transmissions than frames, i.e. the loop kept going
        expect(r.txPackets).toBeGreaterThan(10_000);
        expect(r.mpps).toBeGreaterThan(0);
      }
      expect(rows[0].ratio).toBe(1);
      console.log(rows.map((r) => `${r.forwarder} ${r.variant}: ${r.mpps.toFixed(4)} Mpps, ratio ${r.ratio.toFixed(2)}`).join('\n'));
    } finally {
      release();
    }
  });
});
