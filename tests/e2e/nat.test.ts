// End to end: the NAT between two namespaces. curl from lan reaches a python3 http.server in wan, which sees the
// NAT's external address as the client; connections initiated from wan do not get in.
import * as fs from 'fs';
import * as path from 'path';
import { addr, describeE2e, expectSuccess, httpClients, labUpPrivate, nsRun, startHttpServer, startNf, tempDir, useScope } from './harness';

const EXTERNAL = '10.1.0.1'; // the NAT's default external address: wan's gateway in the routed lab

describeE2e('nat', ['curl', 'python3'], 'nat')('e2e: NAT with curl and python3 http.server (root)', () => {
  const scope = useScope();

  test('LAN->WAN HTTP is translated to the external address; WAN-initiated connections fail', async () => {
    const lab = labUpPrivate(scope, 'nat');
    const dir = tempDir(scope, 'nat');
    fs.writeFileSync(path.join(dir, 'index.html'), 'hello from wan\n');
    const nf = await startNf(scope, lab, 'nat', { durationS: 6 });

    // A server in lan too: a connection from wan that fails then fails because of the NAT, not for lack of a listener.
    const [wanServer, lanServer] = await Promise.all([
      startHttpServer(scope, lab.wan.netns, addr(lab.wan), 8000, dir),
      startHttpServer(scope, lab.lan.netns, addr(lab.lan), 8001, dir),
    ]);

    const out = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '3', `http://${addr(lab.wan)}:8000/`], 5000);
    expectSuccess('curl from lan to wan', out, null, nf);
    expect(out.stdout).toBe('hello from wan\n');

    // Unsolicited, from wan: to lan's own address (not the NAT's: dropped as wrong_destination) and to the external
    // address on a port no LAN flow maps (no_mapping). Both time out: nothing answers, not even a reset.
    const [direct, external] = await Promise.all([
      nsRun(scope, lab.wan.netns, ['curl', '-sS', '--max-time', '2', `http://${addr(lab.lan)}:8001/`], 5000),
      nsRun(scope, lab.wan.netns, ['curl', '-sS', '--max-time', '2', `http://${EXTERNAL}:8001/`], 5000),
    ]);
    expect([direct.code, direct.stdout]).toEqual([28, '']); // 28: curl's "operation timed out"
    expect([external.code, external.stdout]).toEqual([28, '']);

    wanServer.kill();
    lanServer.kill();
    // The server in wan saw the NAT's external address as its client; the one in lan saw nobody.
    expect(httpClients((await wanServer.exit()).stderr)).toEqual([EXTERNAL]);
    expect(httpClients((await lanServer.exit()).stderr)).toEqual([]);

    const summary = await nf.summary();
    expect(summary.violations).toBe(0);
    const c = summary.counters;
    expect(c.translated_out).toBeGreaterThanOrEqual(4); // SYN, ACK, request, FIN ... of the curl
    expect(c.translated_in).toBeGreaterThanOrEqual(4);
    expect(c.mappings).toBeGreaterThanOrEqual(1);
    expect(c.wrong_destination).toBeGreaterThanOrEqual(1); // the SYN (and its retransmissions) to 10.0.0.2
    expect(c.no_mapping).toBeGreaterThanOrEqual(1); // the SYN (and its retransmissions) to 10.1.0.1:8001
    for (const bad of ['malformed', 'bad_checksum', 'fragment', 'non_ipv4']) expect([bad, c[bad]]).toEqual([bad, 0]);
  }, 20_000);
});
