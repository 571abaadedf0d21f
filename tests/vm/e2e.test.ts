// End to end on a device nobody here wrote: QEMU's virtio-net. A guest (src/vm) gets two virtio-net NICs whose
// host sides are the TAPs of a routed two-namespace lab (labUp); in the guest, `tinynf run <nf> --virtio A B` runs
// our driver on them (bound to uio_pci_generic) while the host namespaces' real kernel stacks talk through it:
// ping, curl to a python3 http.server, iperf3. tcpdump on both TAPs captures what each kernel sent and received, and
// the frames are compared byte for byte (nop, firewall: identical; nat: identical but for the translated fields,
// with valid checksums). One boot per virtio variant (modern, legacy) serves every NF: the guest runs them one
// after the other, each until the host writes its stop file.
import * as fs from 'fs';
import * as path from 'path';
import { Lab, labDown, labUp } from '../../src/env/lab';
import { Guest, startGuest } from '../../src/vm';
import { Proc, Scope, addr, hasProgram, httpClients, nsRun, nsStart, startHttpServer, tempDir, useScope, waitFor } from '../e2e/harness';
import { cachedImage, describeVm, lockGuest, vmNames } from './helpers';
import { DNAT_TCP_OFFSETS, SNAT_TCP_OFFSETS, compareFrames, framesFrom } from './frames';

const REPO = path.join(__dirname, '..', '..', '..');
const NFS = ['nop', 'firewall', 'nat'] as const;
type NfName = (typeof NFS)[number];
const PROGRAMS = ['tcpdump', 'ping', 'curl', 'python3', 'iperf3'];

jest.setTimeout(900_000); // two boots, and lockGuest may wait for another file's guest

function missingPrograms(): string[] {
  return PROGRAMS.filter((p) => !hasProgram(p, p === 'ping' ? '-V' : '--version'));
}

interface NfResult {
  rc: number;
  json: Record<string, unknown> & { rx_packets: number; tx_packets: number; counters: Record<string, number> };
  stderr: string;
}

/** The guest's side of one NF run: started by the job script, stopped by the host's stop file. */
class GuestNf {
  constructor(
    readonly guest: Guest,
    readonly nf: NfName,
  ) {}

  private file(suffix: string): string {
    return path.join(this.guest.jobDir, `${this.nf}.${suffix}`);
  }

  /** Resolves once the NF's poll loop runs (its first progress line), or throws with what the guest said. */
  async ready(timeoutMs: number): Promise<void> {
    const ok = await waitFor(() => fs.existsSync(this.file('rc')) || /\] rx /.test(readOr(this.file('err'))), timeoutMs, 200);
    if (!ok || fs.existsSync(this.file('rc'))) {
      throw new Error(`tinynf run ${this.nf} in the guest is not running (${ok ? 'it exited' : 'timeout'}): ${readOr(this.file('err')).slice(-2000)}`);
    }
  }

  async stop(timeoutMs: number): Promise<NfResult> {
    this.guest.writeFile(`stop-${this.nf}`, '');
    const ok = await waitFor(() => fs.existsSync(this.file('rc')), timeoutMs, 200);
    if (!ok) {
      const dir = this.guest.jobDir;
      const listing = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => `${f} (${fs.statSync(path.join(dir, f)).size} B)`).join(', ') : 'gone';
      throw new Error(`tinynf run ${this.nf} in the guest did not stop: ${readOr(this.file('err')).slice(-2000)}\n--- job directory: ${listing}`);
    }
    const out = readOr(this.file('json')).trim().split('\n');
    return { rc: Number(readOr(this.file('rc')).trim()), json: JSON.parse(out[out.length - 1] || '{}'), stderr: readOr(this.file('err')) };
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** tcpdump on both TAPs, from start() until stop(): then the pcap files are complete. */
class Captures {
  private procs: Proc[] = [];
  readonly lanFile: string;
  readonly wanFile: string;

  constructor(
    private readonly scope: Scope,
    private readonly lab: Lab,
    dir: string,
    name: string,
  ) {
    this.lanFile = path.join(dir, `${name}-lan.pcap`);
    this.wanFile = path.join(dir, `${name}-wan.pcap`);
  }

  async start(): Promise<void> {
    for (const [side, file] of [
      [this.lab.lan, this.lanFile],
      [this.lab.wan, this.wanFile],
    ] as const) {
      const p = nsStart(this.scope, side.netns, ['tcpdump', '-i', side.tap, '-U', '-n', '-s', '0', '-w', file], 300_000);
      this.procs.push(p);
      const listening = await waitFor(() => !p.running || /listening on/.test(p.stderr), 10_000);
      if (!listening || !p.running) throw new Error(`tcpdump on ${side.tap} did not start: ${p.stderr}`);
    }
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill('SIGINT');
    for (const p of this.procs) await p.exit();
    this.procs = [];
  }

  /** Frames lan's kernel sent (source lan's MAC) and what wan's kernel received of them, and the other way. */
  frames(): { lanSent: Uint8Array[]; wanReceived: Uint8Array[]; wanSent: Uint8Array[]; lanReceived: Uint8Array[] } {
    return {
      lanSent: framesFrom(this.lanFile, this.lab.lan.mac),
      wanReceived: framesFrom(this.wanFile, this.lab.lan.mac),
      wanSent: framesFrom(this.wanFile, this.lab.wan.mac),
      lanReceived: framesFrom(this.lanFile, this.lab.wan.mac),
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function guestScript(): string {
  const lines = [
    'set -u',
    'A=0000:00:10.0; B=0000:00:11.0',
    'node bin/tinynf.js devices --json > "$TNFVM_JOB/devices.json"',
    'node bin/tinynf.js doctor $A $B --json > "$TNFVM_JOB/doctor.json"',
  ];
  for (const nf of NFS) {
    lines.push(
      `node bin/tinynf.js run ${nf} --virtio $A $B --model "$MODEL" --duration 900 --stop-file "$TNFVM_JOB/stop-${nf}" --json > "$TNFVM_JOB/${nf}.json" 2> "$TNFVM_JOB/${nf}.err"`,
      `echo $? > "$TNFVM_JOB/${nf}.rc"`,
    );
  }
  return lines.join('\n');
}

const missing = missingPrograms();
const describeIf = missing.length > 0 ? (console.warn(`SKIPPED vm e2e: ${missing.join(', ')} not installed`), describe.skip) : describeVm('e2e', true);

describeIf('virtio-net in a QEMU guest: NFs between two host namespaces (root, qemu, prepared image)', () => {
  const scope = useScope();

  for (const variant of ['modern', 'legacy'] as const) {
    test(`${variant}: nop, firewall and nat on our driver; ping, curl, iperf3; frames compared byte for byte`, async () => {
      const release = await lockGuest();
      scope.defer('guest lock', release);
      const tag = variant === 'modern' ? 'em' : 'el';
      const options = { topology: 'routed' as const, lan: vmNames(tag, 'l'), wan: vmNames(tag, 'w') };
      scope.defer('lab', () => labDown(options));
      const lab = labUp(options);
      const dir = tempDir(scope, `vm-${variant}`);
      fs.writeFileSync(path.join(dir, 'index.html'), `hello over virtio ${variant}\n`);
      const [wanServer, lanServer] = await Promise.all([
        startHttpServer(scope, lab.wan.netns, addr(lab.wan), 8000, dir, 400_000),
        startHttpServer(scope, lab.lan.netns, addr(lab.lan), 8001, dir, 400_000),
      ]);
      const iperfServer = nsStart(scope, lab.wan.netns, ['iperf3', '-s', '-B', addr(lab.wan), '-p', '5201'], 400_000);

      const guest = startGuest({
        image: cachedImage()!,
        command: { script: guestScript() },
        cwd: REPO,
        env: { MODEL: 'restricted' },
        variant,
        nics: [
          { backend: { kind: 'tap', ifname: lab.lan.tap, netns: lab.lan.netns } },
          { backend: { kind: 'tap', ifname: lab.wan.tap, netns: lab.wan.netns } },
        ],
        bindNics: 'uio_pci_generic',
        hugepages: 64,
        timeoutMs: 440_000,
        // The last NF's rc file is written just before the guest powers off: the job directory must outlive the
        // guest, or the host's poll for that file races its removal.
        keepJobDir: true,
      });
      scope.defer('guest job directory', () => fs.rmSync(guest.jobDir, { recursive: true, force: true }));
      scope.defer('guest', () => guest.kill());
      const results: Partial<Record<NfName, NfResult>> = {};
      try {
        // ---- nop: everything crosses unchanged, both ways --------------------------------------------------------
        {
          const nf = new GuestNf(guest, 'nop');
          await nf.ready(240_000);
          // Before it: `tinynf devices` and `tinynf doctor` in the guest knew the NICs.
          const devices = JSON.parse(fs.readFileSync(path.join(guest.jobDir, 'devices.json'), 'utf8')) as { address: string; model: string; driver: string }[];
          expect(devices.filter((d) => d.address.startsWith('0000:00:1')).map((d) => [d.address, d.model, d.driver])).toEqual([
            ['0000:00:10.0', `virtio-net ${variant}`, 'uio_pci_generic'],
            ['0000:00:11.0', `virtio-net ${variant}`, 'uio_pci_generic'],
          ]);
          const doctor = JSON.parse(fs.readFileSync(path.join(guest.jobDir, 'doctor.json'), 'utf8')) as { checks: { name: string; ok: boolean }[] };
          const perPort = doctor.checks.filter((c) => /^(ids|driver|bars|interface) 0000:00:1[01]\.0$/.test(c.name));
          expect(perPort.map((c) => [c.name, c.ok])).toEqual(
            ['ids', 'driver', 'interface', 'bars'].flatMap((n) => [[`${n} 0000:00:10.0`, true]]).concat(
              ['ids', 'driver', 'interface', 'bars'].flatMap((n) => [[`${n} 0000:00:11.0`, true]]),
            ),
          );
          // iperf3 first, outside the captures: TCP fills the rings until something drops, which is its job.
          const iperf = await nsRun(scope, lab.lan.netns, ['iperf3', '-c', addr(lab.wan), '-p', '5201', '-t', '2', '-J'], 60_000);
          expect(iperf.code).toBe(0);
          const received = (JSON.parse(iperf.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } }).end.sum_received;
          expect(received.bytes).toBeGreaterThan(100_000);
          console.log(`vm e2e ${variant}: iperf3 through nop ${(received.bits_per_second / 1e6).toFixed(1)} Mbit/s`);
          await sleep(1000);
          const cap = new Captures(scope, lab, dir, 'nop');
          await cap.start();
          const ping = await nsRun(scope, lab.lan.netns, ['ping', '-n', '-c', '3', '-i', '0.3', '-W', '10', addr(lab.wan)], 30_000);
          expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
          const curl = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '20', `http://${addr(lab.wan)}:8000/`], 30_000);
          expect([curl.code, curl.stdout, curl.stderr]).toEqual([0, `hello over virtio ${variant}\n`, '']);
          await sleep(1500); // let the last FIN/ACKs cross before the captures end
          await cap.stop();
          results.nop = await nf.stop(180_000);
          const f = cap.frames();
          expect(f.lanSent.length).toBeGreaterThanOrEqual(3 + 4); // 3 echo requests, a TCP handshake, request, FIN...
          expect(compareFrames(f.lanSent, f.wanReceived)).toEqual([]);
          expect(compareFrames(f.wanSent, f.lanReceived)).toEqual([]);
          expect(results.nop.rc).toBe(0);
          expect(results.nop.json.tx_packets).toBeGreaterThan(f.lanSent.length + f.wanSent.length); // iperf3's too
        }
        // ---- firewall: LAN-initiated TCP passes unchanged; WAN-initiated is dropped -------------------------------
        {
          const nf = new GuestNf(guest, 'firewall');
          await nf.ready(240_000);
          const cap = new Captures(scope, lab, dir, 'fw');
          await cap.start();
          const curl = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '20', `http://${addr(lab.wan)}:8000/`], 30_000);
          expect([curl.code, curl.stdout]).toEqual([0, `hello over virtio ${variant}\n`]);
          const inbound = await nsRun(scope, lab.wan.netns, ['curl', '-sS', '--max-time', '3', `http://${addr(lab.lan)}:8001/`], 10_000);
          expect([inbound.code, inbound.stdout]).toEqual([28, '']); // timed out: the SYN was dropped, no reset
          await sleep(1500);
          await cap.stop();
          results.firewall = await nf.stop(180_000);
          const f = cap.frames();
          expect(compareFrames(f.lanSent, f.wanReceived)).toEqual([]);
          // wan sent the replies of lan's connection (delivered unchanged) and the SYNs to 8001 (dropped).
          const toLan8001 = (d: Uint8Array) => d.length > 37 && d[23] === 6 && ((d[36] << 8) | d[37]) === 8001;
          expect(f.wanSent.filter(toLan8001).length).toBeGreaterThanOrEqual(1);
          expect(compareFrames(f.wanSent.filter((d) => !toLan8001(d)), f.lanReceived)).toEqual([]);
          expect(results.firewall.rc).toBe(0);
          expect(results.firewall.json.counters.no_flow).toBeGreaterThanOrEqual(1);
        }
        // ---- nat: lan's connection leaves with the external address; checksums stay valid ------------------------
        {
          const nf = new GuestNf(guest, 'nat');
          await nf.ready(240_000);
          const cap = new Captures(scope, lab, dir, 'nat');
          await cap.start();
          const curl = await nsRun(scope, lab.lan.netns, ['curl', '-sS', '--max-time', '20', `http://${addr(lab.wan)}:8000/`], 30_000);
          expect([curl.code, curl.stdout]).toEqual([0, `hello over virtio ${variant}\n`]);
          await sleep(1500);
          await cap.stop();
          results.nat = await nf.stop(180_000);
          const f = cap.frames();
          expect(f.lanSent.length).toBeGreaterThanOrEqual(4);
          expect(compareFrames(f.lanSent, f.wanReceived, SNAT_TCP_OFFSETS)).toEqual([]);
          expect(compareFrames(f.wanSent, f.lanReceived, DNAT_TCP_OFFSETS)).toEqual([]);
          for (const d of f.wanReceived) expect(Array.from(d.subarray(26, 30)).join('.')).toBe('10.1.0.1');
          expect(results.nat.rc).toBe(0);
          expect(results.nat.json.counters.translated_out).toBeGreaterThanOrEqual(4);
        }
      } catch (e) {
        guest.kill();
        const r = await guest.done;
        throw new Error(`${(e as Error).message}\n--- guest console (tail)\n${r.console.split('\n').slice(-20).join('\n')}\n--- guest stderr\n${r.stderr}`);
      }
      const end = await guest.done;
      expect([end.exitCode, end.initError, end.stderr]).toEqual([0, null, '']);
      wanServer.kill();
      lanServer.kill();
      iperfServer.kill();
      // The servers saw: wan's, lan's own address (nop, iperf3's control connection aside, firewall) then the NAT's;
      // lan's, nobody (the firewall dropped the only attempt).
      expect(httpClients((await wanServer.exit()).stderr)).toEqual([addr(lab.lan), addr(lab.lan), '10.1.0.1']);
      expect(httpClients((await lanServer.exit()).stderr)).toEqual([]);
      console.log(`vm e2e ${variant}: boot ${(end.bootMs! / 1000).toFixed(1)} s, total ${(end.totalMs / 1000).toFixed(1)} s`);
    });
  }
});
