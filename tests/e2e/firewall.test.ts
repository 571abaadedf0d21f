// End to end: the stateful firewall between two namespaces. TCP opened from lan works both ways; TCP opened from
// wan is dropped.
import * as fs from 'fs';
import * as path from 'path';
import { addr, describeE2e, expectSuccess, httpClients, labUpPrivate, nsRun, startHttpServer, startNf, tempDir, useScope } from './harness';

describeE2e('firewall', ['curl', 'python3'], 'firewall')('e2e: firewall with curl and python3 http.server (root)', () => {
  const scope = useScope();

  test('LAN-initiated TCP passes unchanged; WAN-initiated TCP is dropped', async () => {
    const lab = labUpPrivate(scope, 'fw');
    const dir = tempDir(scope, 'fw');
    fs.writeFileSync(path.join(dir, 'index.html'), 'hello across the firewall\n');
    const nf = await startNf(scope, lab, 'firewall', { durationS: 6 });

    const [wanServer, lanServer] = await Promise.all([
      startHttpServer(scope, lab.wan.netns, addr(lab.wan), 8000, dir),
      startHttpServer(scope, lab.lan.netns, addr(lab.lan), 8001, dir),
    ]);

    const out = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '3', `http://${addr(lab.wan)}:8000/`], 5000);
    expectSuccess('curl from lan to wan', out, null, nf);
    expect(out.stdout).toBe('hello across the firewall\n');

    // From wan to a listening server in lan: the SYN is dropped (no reset either), so curl times out.
    const inbound = await nsRun(scope, lab.wan.netns, ['curl', '-sS', '--max-time', '2', `http://${addr(lab.lan)}:8001/`], 5000);
    expect([inbound.code, inbound.stdout]).toEqual([28, '']); // 28: curl's "operation timed out"

    wanServer.kill();
    lanServer.kill();
    // The firewall does not translate: wan's server saw lan's own address; lan's server saw nobody.
    expect(httpClients((await wanServer.exit()).stderr)).toEqual([addr(lab.lan)]);
    expect(httpClients((await lanServer.exit()).stderr)).toEqual([]);

    const summary = await nf.summary();
    expect(summary.violations).toBe(0);
    const c = summary.counters;
    expect(c.passed_out).toBeGreaterThanOrEqual(4);
    expect(c.passed_in).toBeGreaterThanOrEqual(4);
    expect(c.no_flow).toBeGreaterThanOrEqual(1); // the SYN from wan (and its retransmission)
    expect(c.flows).toBeGreaterThanOrEqual(1);
    for (const bad of ['malformed', 'fragment', 'non_ipv4']) expect([bad, c[bad]]).toEqual([bad, 0]);
  }, 20_000);
});
