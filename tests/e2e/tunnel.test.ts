// End to end: the tunnel NF's VXLAN against the Linux kernel's own VXLAN device (the recipe of docs/nfs.md).
//
//  lan ns: 10.0.0.2 --TAP--> [tunnel NF: FIB 192.168.42.2 -> VXLAN 42 to 10.1.0.2] --TAP--> wan ns: tnf-wan 10.1.0.2
//                                                                                            vx (VNI 42) 192.168.42.2
// lan's traffic to 192.168.42.2 is encapsulated by the NF and decapsulated by the kernel's vx device; vx's traffic
// to 10.0.0.0/24 is encapsulated by the kernel towards 10.1.0.1 (the NF's localIp) and decapsulated by the NF.
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { inNetworkNamespace } from '../../src/env/tap';
import { addr, describeE2e, e2eSkipReason, expectSuccess, httpClients, labUpPrivate, nsRun, sh, startHttpServer, startNf, tempDir, useScope } from './harness';

const VNI = 42;
const INNER = '192.168.42.2';

/** Whether the kernel can make VXLAN devices (the vxlan module), tried in a scratch namespace; null if it can. */
function vxlanMissing(): string | null {
  if (e2eSkipReason([]) !== null) return null; // describeE2e reports the more basic reason
  const ns = `e2evxprobe${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns], { timeout: 5000 });
  try {
    const r = spawnSync('ip', ['-n', ns, 'link', 'add', 'vxprobe', 'type', 'vxlan', 'id', '1', 'dstport', '4789'], { encoding: 'utf8', timeout: 5000 });
    return r.status === 0 ? null : `the kernel cannot create VXLAN devices (${r.stderr.trim()})`;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
  }
}

const noVxlan = vxlanMissing();
if (noVxlan !== null) console.warn(`SKIPPED e2e tunnel: ${noVxlan}`);

(noVxlan === null ? describeE2e('tunnel', ['ping', 'curl', 'python3'], 'tunnel') : describe.skip)('e2e: tunnel NF and the kernel VXLAN (root)', () => {
  const scope = useScope();

  test("the kernel's VXLAN device decodes the NF's VXLAN frames and the NF decodes the kernel's, both ways", async () => {
    const lab = labUpPrivate(scope, 'tun');
    const wan = lab.wan.netns;
    const vx = `vx${process.pid % 100000}`;
    // The kernel's endpoint in wan: its MAC is the NF's configured next hop (the wan TAP's MAC), so the inner frames
    // the NF sends (destination MAC = lan's gateway neighbour = wan TAP MAC) are the device's own.
    sh('ip', ['-n', wan, 'link', 'add', vx, 'address', lab.wan.mac, 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789',
      'local', addr(lab.wan), 'remote', '10.1.0.1', 'dev', lab.wan.tap]);
    scope.defer(`vxlan ${vx}`, () => sh('ip', ['-n', wan, 'link', 'del', vx]));
    sh('ip', ['-n', wan, 'addr', 'add', `${INNER}/24`, 'dev', vx]);
    // No IPv6 chatter through the tunnel (written from inside the namespace: /proc/sys/net is per namespace).
    inNetworkNamespace(wan, () => {
      const file = `/proc/sys/net/ipv6/conf/${vx}/disable_ipv6`;
      if (fs.existsSync(file)) fs.writeFileSync(file, '1'); // absent when the kernel has no IPv6
    });
    sh('ip', ['-n', wan, 'link', 'set', vx, 'up']);
    sh('ip', ['-n', wan, 'neigh', 'add', addr(lab.lan), 'lladdr', lab.lan.mac, 'dev', vx, 'nud', 'permanent']);
    sh('ip', ['-n', wan, 'route', 'add', '10.0.0.0/24', 'dev', vx]);
    // (wan already resolves 10.1.0.1, the NF's underlay address, to the lan TAP's MAC: a static neighbour of the lab.)

    const dir = tempDir(scope, 'tun');
    const config = path.join(dir, 'vx.json');
    fs.writeFileSync(config, JSON.stringify({
      localIp: '10.1.0.1',
      vnis: [VNI],
      fib: [{ key: INNER, encap: 'vxlan', vni: VNI, dstIp: addr(lab.wan), srcMac: lab.lan.mac, dstMac: lab.wan.mac }],
    }));
    fs.writeFileSync(path.join(dir, 'index.html'), 'through the overlay\n');
    const nf = await startNf(scope, lab, 'tunnel', { durationS: 5, args: ['--config', config] });
    const stat = (name: string) => Number(sh('ip', ['netns', 'exec', wan, 'cat', `/sys/class/net/${vx}/statistics/${name}`]).trim());
    const vxRxBefore = stat('rx_packets');

    // lan -> inner address of the kernel's VXLAN device: NF encapsulates, kernel decapsulates; and the replies back.
    const fromLan = await nsRun(scope, lab.lan.netns, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', INNER], 8000);
    expectSuccess('ping from lan', fromLan, '3 packets transmitted, 3 received', nf);
    // wan's VXLAN device -> lan: the kernel encapsulates, the NF decapsulates; and the replies back.
    const fromWan = await nsRun(scope, wan, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', INNER, addr(lab.lan)], 8000);
    expectSuccess('ping from wan', fromWan, '3 packets transmitted, 3 received', nf);
    // TCP through the overlay: an HTTP server on the VXLAN device's address.
    const server = await startHttpServer(scope, wan, INNER, 8000, dir);
    const curl = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '3', `http://${INNER}:8000/`], 5000);
    expectSuccess('curl from lan', curl, null, nf);
    expect(curl.stdout).toBe('through the overlay\n');
    server.kill();
    expect(httpClients((await server.exit()).stderr)).toEqual([addr(lab.lan)]);

    // The kernel's VXLAN device received what the NF encapsulated (6 ICMP + the TCP segments).
    expect(stat('rx_packets') - vxRxBefore).toBeGreaterThanOrEqual(6);
    expect(stat('rx_errors')).toBe(0);
    const summary = await nf.summary();
    expect(summary.violations).toBe(0);
    const c = summary.counters;
    expect(c.encapsulated).toBeGreaterThanOrEqual(6 + 3); // 3 requests from lan, 3 replies to wan's pings, TCP
    expect(c.decapsulated).toBeGreaterThanOrEqual(6 + 3);
    for (const bad of ['fib_miss', 'malformed', 'bad_checksum', 'unknown_vni', 'oversize', 'fragment']) expect([bad, c[bad]]).toEqual([bad, 0]);
  }, 20_000);
});
