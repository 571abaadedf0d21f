// End to end: the learning bridge between two namespaces in one subnet (the lab's flat topology): ARP crosses it,
// then ping.
import { spawnSync } from 'child_process';
import { addr, describeE2e, expectSuccess, labUpPrivate, nsRun, startNf, useScope } from './harness';

/** The neighbour entry of `ip` in a namespace: "10.0.0.3 dev X lladdr 02:.. REACHABLE", or '' if none. */
function neighbour(netns: string, dev: string, ip: string): string {
  const r = spawnSync('ip', ['-n', netns, 'neigh', 'show', ip, 'dev', dev], { encoding: 'utf8', timeout: 5000 });
  return r.stdout.trim();
}

describeE2e('bridge', ['ping'], 'bridge')('e2e: bridge with ping in a flat lab (root)', () => {
  const scope = useScope();

  test('ping between the namespaces succeeds both ways; ARP resolves through the bridge', async () => {
    const lab = labUpPrivate(scope, 'br', 'flat');
    // No static neighbours in the flat lab: nothing is resolved yet.
    expect(neighbour(lab.lan.netns, lab.lan.tap, addr(lab.wan))).toBe('');
    const nf = await startNf(scope, lab, 'bridge', { durationS: 4 });

    const there = await nsRun(scope, lab.lan.netns, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', addr(lab.wan)], 8000);
    expectSuccess('ping from lan', there, '3 packets transmitted, 3 received', nf);
    const back = await nsRun(scope, lab.wan.netns, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', addr(lab.lan)], 8000);
    expectSuccess('ping from wan', back, '3 packets transmitted, 3 received', nf);

    // ARP did it: each side learnt the other's MAC dynamically (not a PERMANENT entry), through the bridge.
    const lanSeesWan = neighbour(lab.lan.netns, lab.lan.tap, addr(lab.wan));
    expect(lanSeesWan).toContain(`lladdr ${lab.wan.mac}`);
    expect(lanSeesWan).toMatch(/REACHABLE|STALE|DELAY|PROBE/);
    const wanSeesLan = neighbour(lab.wan.netns, lab.wan.tap, addr(lab.lan));
    expect(wanSeesLan).toContain(`lladdr ${lab.lan.mac}`);
    expect(wanSeesLan).toMatch(/REACHABLE|STALE|DELAY|PROBE/);

    const summary = await nf.summary();
    expect(summary.violations).toBe(0);
    const c = summary.counters;
    expect(c.multicast_flooded).toBeGreaterThanOrEqual(1); // the broadcast ARP request
    expect(c.learned).toBe(2); // the two TAPs' MACs, once each
    expect(c.entries).toBe(2);
    expect(c.forwarded).toBeGreaterThanOrEqual(12 - c.unknown_flooded); // 6 echo requests + 6 replies (+ ARP replies)
    for (const bad of ['hairpin', 'invalid_src', 'runt', 'moved']) expect([bad, c[bad]]).toEqual([bad, 0]);
  }, 20_000);
});
