// The QEMU lab itself (src/vm): one guest boot checks the guest side (the host's node runs on the host's tree,
// huge pages are reserved, the NICs are the virtio-net devices asked for, bound to the driver asked for, the job
// directory carries files both ways) and the host side (a NIC's TAP lives in a network namespace of ours: the
// namespace pings the guest's own kernel through it). The same boot starts every NF not covered by e2e.test.ts
// on two virtio NICs.
import { spawnSync } from 'child_process';
import { startGuest } from '../../src/vm';
import { cachedImage, describeVm, lockGuest, vmNames } from './helpers';

jest.setTimeout(900_000); // lockGuest may wait for another file's guest first

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

describeVm('lab', true)('QEMU lab (root, qemu, prepared image)', () => {
  test('one boot: node, huge pages, NIC identities and driver binding, job files, a TAP in a namespace; every other NF on virtio', async () => {
    const release = await lockGuest();
    const { netns, tap } = vmNames('lab', 'a');
    spawnSync('ip', ['netns', 'del', netns], { timeout: 10_000 });
    try {
      ip(['netns', 'add', netns]);
      ip(['-n', netns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      ip(['-n', netns, 'addr', 'add', '10.77.0.2/24', 'dev', tap]);
      ip(['-n', netns, 'link', 'set', tap, 'up']);
      // NIC 0: modern on the TAP, for the guest kernel's virtio_net (ping); NIC 1: legacy on a hub, bound to
      // uio_pci_generic by the job itself (the lab's bindNics moves all NICs: here we want one of each).
      const script = `
set -e
d0=0000:00:10.0; d1=0000:00:11.0
modprobe virtio_net
modprobe uio_pci_generic
echo $d1 > /sys/bus/pci/devices/$d1/driver/unbind
echo uio_pci_generic > /sys/bus/pci/devices/$d1/driver_override
echo $d1 > /sys/bus/pci/drivers_probe
n=$(ls /sys/bus/pci/devices/$d0/virtio*/net/)
ip addr add 10.77.0.1/24 dev $n
ip link set $n up
touch $TNFVM_JOB/ready
i=0; while [ ! -e $TNFVM_JOB/stop ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
node -e '
const fs = require("fs");
const r = (p) => fs.readFileSync(p, "utf8").trim();
const dev = (d) => ({ vendor: r("/sys/bus/pci/devices/" + d + "/vendor"), device: r("/sys/bus/pci/devices/" + d + "/device"),
  driver: fs.readlinkSync("/sys/bus/pci/devices/" + d + "/driver").split("/").pop() });
console.log(JSON.stringify({ node: process.version, hugepages: r("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
  nics: [dev("0000:00:10.0"), dev("0000:00:11.0")], fromHost: r(process.env.TNFVM_JOB + "/from-host"),
  env: process.env.TNFVM_NICS, cwd: process.cwd() }));'
# Every other NF (nop, firewall and nat have tests/vm/e2e.test.ts) starts, runs and stops on two modern virtio NICs
# cabled to each other (NICs 2 and 3 on QEMU hub 1): the NF contract is the same as on the 82599.
for d in 0000:00:12.0 0000:00:13.0; do
  echo $d > /sys/bus/pci/devices/$d/driver/unbind
  echo uio_pci_generic > /sys/bus/pci/devices/$d/driver_override
  echo $d > /sys/bus/pci/drivers_probe
done
for nf in macrewrite policer tunnel maclookup bridge lb; do
  node bin/tinynf.js run $nf --virtio 0000:00:12.0 0000:00:13.0 --duration 1 --json > $TNFVM_JOB/$nf.json || echo "{\"nf\":\"$nf\",\"failed\":true}" > $TNFVM_JOB/$nf.json
  tail -n 1 $TNFVM_JOB/$nf.json
done
`;
      const guest = startGuest({
        image: cachedImage()!,
        command: { script },
        hugepages: 64,
        nics: [
          { backend: { kind: 'tap', ifname: tap, netns }, variant: 'modern' },
          { backend: { kind: 'hub', hub: 0 }, variant: 'legacy' },
          { backend: { kind: 'hub', hub: 1 }, variant: 'modern' },
          { backend: { kind: 'hub', hub: 1 }, variant: 'modern' },
        ],
        timeoutMs: 200_000,
      });
      guest.writeFile('from-host', 'host says hi\n');
      const ready = await guest.waitForFile('ready', 150_000);
      let ping = '';
      if (ready) {
        const r = spawnSync('ip', ['netns', 'exec', netns, 'ping', '-c', '3', '-i', '0.3', '-W', '5', '10.77.0.1'], { encoding: 'utf8', timeout: 30_000 });
        ping = r.stdout;
      }
      guest.writeFile('stop', '');
      const result = await guest.done;
      expect([ready, result.initError, result.exitCode, result.stderr]).toEqual([true, null, 0, '']);
      expect(ping).toMatch(/3 packets transmitted, 3 received/);
      const [first, ...nfLines] = result.stdout.trim().split('\n');
      const out = JSON.parse(first) as Record<string, unknown>;
      expect(out).toEqual({
        node: process.version,
        hugepages: '64',
        nics: [
          { vendor: '0x1af4', device: '0x1041', driver: 'virtio-pci' },
          { vendor: '0x1af4', device: '0x1000', driver: 'uio_pci_generic' },
        ],
        fromHost: 'host says hi',
        env: '0000:00:10.0 0000:00:11.0 0000:00:12.0 0000:00:13.0',
        cwd: process.cwd(),
      });
      expect(result.bootMs).not.toBeNull();
      const nfs = nfLines.map((l) => JSON.parse(l) as { nf: string; failed?: boolean; seconds: number; violations: number });
      expect(nfs.map((r) => [r.nf, r.failed ?? false, r.seconds >= 1, r.violations])).toEqual(
        ['macrewrite', 'policer', 'tunnel', 'maclookup', 'bridge', 'lb'].map((nf) => [nf, false, true, 0]),
      );
    } finally {
      spawnSync('ip', ['netns', 'del', netns], { timeout: 10_000 });
      release();
    }
  });
});
