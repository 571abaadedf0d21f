import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync, ChildProcess } from 'child_process';
import { TinyNfError } from '../../src/env/environment';
import { LabOptions, labConfig, labDown, labStatus, labUp } from '../../src/env/lab';
import { listNetworkNamespaces } from '../../src/env/tap';
import { TapWire } from '../../src/sim/wires/tap';
import { netnsSkipReason, run } from './helpers/netns';

const skip = netnsSkipReason();
if (skip !== null) console.warn(`SKIPPED lab tests: ${skip} (they need root, iproute2 and /dev/net/tun)`);
const describeRoot = skip === null ? describe : describe.skip;

// Names of our own, so a person's real `lan`/`wan` lab is never touched by the tests.
const id = process.pid % 100000;
const names = (topology: 'routed' | 'flat'): LabOptions => ({
  topology,
  lan: { netns: `tnflan${id}`, tap: `tl${id}` },
  wan: { netns: `tnfwan${id}`, tap: `tw${id}` },
});

function rootInterfaces(): string[] {
  return fs.readdirSync('/sys/class/net');
}

test('labConfig fills the documented defaults and rejects bad names', () => {
  const lab = labConfig();
  expect(lab.lan).toEqual({ netns: 'lan', tap: 'tnf-lan', address: '10.0.0.2/24', gateway: '10.0.0.1', mac: '02:74:6e:66:00:01' });
  expect(lab.wan).toEqual({ netns: 'wan', tap: 'tnf-wan', address: '10.1.0.2/24', gateway: '10.1.0.1', mac: '02:74:6e:66:00:02' });
  expect(labConfig({ topology: 'flat' }).wan.address).toBe('10.0.0.3/24');
  expect(() => labConfig({ lan: { netns: 'a/b' } })).toThrow(TinyNfError);
  expect(() => labConfig({ wan: { tap: 'x'.repeat(16) } })).toThrow(/invalid interface name/);
  expect(() => labConfig({ wan: { netns: 'lan' } })).toThrow(/must differ/);
});

/** Forward frames between two TAP wires (an L2-transparent "NF") until stopped. */
function startPump(a: TapWire, b: TapWire): { stop: () => void; frames: () => number } {
  const buf = new Uint8Array(2048);
  let frames = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    for (let n = a.input.next(buf, 0); n > 0; n = a.input.next(buf, 0)) {
      b.output.frame(buf, n, 0);
      frames++;
    }
    for (let n = b.input.next(buf, 0); n > 0; n = b.input.next(buf, 0)) {
      a.output.frame(buf, n, 0);
      frames++;
    }
    setTimeout(tick, 1);
  };
  tick();
  return { stop: () => (running = false), frames: () => frames };
}

function exec(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describeRoot('lab (root)', () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => {
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        // keep cleaning
      }
    }
    for (const topology of ['routed', 'flat'] as const) labDown(names(topology));
  });

  test('labUp creates both namespaces with their TAPs; labDown removes everything, twice', () => {
    const before = rootInterfaces();
    const lab = labUp(names('routed'));
    cleanups.push(() => labDown(names('routed')));
    expect(labStatus(names('routed')).map((s) => [s.exists, s.tapExists])).toEqual([
      [true, true],
      [true, true],
    ]);
    const lanAddr = run('ip', ['-n', lab.lan.netns, '-o', '-4', 'addr', 'show', 'dev', lab.lan.tap]);
    expect(lanAddr).toContain('inet 10.0.0.2/24');
    expect(run('ip', ['-n', lab.lan.netns, 'route', 'show', 'default'])).toContain('via 10.0.0.1');
    expect(run('ip', ['-n', lab.wan.netns, 'neigh', 'show', '10.1.0.1'])).toContain('02:74:6e:66:00:01');
    // Nothing appears in the root namespace.
    expect(rootInterfaces()).toEqual(before);
    expect(run('ip', ['netns', 'exec', lab.lan.netns, 'getent', 'hosts', '10.1.0.2'])).toContain('wan-host');

    // Up again re-creates rather than failing.
    labUp(names('routed'));
    const first = labDown(names('routed'));
    expect(first.removedNamespaces.sort()).toEqual([lab.lan.netns, lab.wan.netns].sort());
    expect(first.removedInterfaces).toHaveLength(2);
    const second = labDown(names('routed'));
    expect(second).toEqual({ removedNamespaces: [], removedInterfaces: [], keptNamespaces: [] });
    expect(listNetworkNamespaces()).not.toContain(lab.lan.netns);
    expect(listNetworkNamespaces()).not.toContain(lab.wan.netns);
    expect(rootInterfaces()).toEqual(before);
    expect(fs.existsSync(`/etc/netns/${lab.lan.netns}`)).toBe(false);
    expect(fs.existsSync(`/etc/netns/${lab.wan.netns}`)).toBe(false);
  });

  test('labUp refuses a namespace it did not create', () => {
    const opts = names('routed');
    const foreign = opts.lan!.netns!;
    run('ip', ['netns', 'add', foreign]);
    cleanups.push(() => spawnSync('ip', ['netns', 'del', foreign], { timeout: 10_000 }));
    run('ip', ['-n', foreign, 'tuntap', 'add', 'dev', 'foreign0', 'mode', 'tap']); // an interface that is not ours
    expect(() => labUp(opts)).toThrow(/was not made by tinynf lab/);
    expect(labDown(opts).keptNamespaces).toEqual([foreign]);
    run('ip', ['netns', 'del', foreign]);
  });

  test.each(['routed', 'flat'] as const)(
    '%s: HTTP from lan to wan crosses a frame pump between the two TAPs',
    async (topology) => {
      const missing = ['curl', 'python3'].filter((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).error);
      if (missing.length > 0) {
        console.warn(`SKIPPED lab HTTP test: ${missing.join(', ')} not installed`);
        return;
      }
      const lab = labUp(names(topology));
      cleanups.push(() => labDown(names(topology)));
      // Opened by name: TapDevice finds the namespace each persistent TAP lives in.
      const lanWire = TapWire.open(lab.lan.tap);
      const wanWire = TapWire.open(lab.wan.tap);
      cleanups.push(() => lanWire.close(), () => wanWire.close());
      expect(lanWire.device.netns).toBe(lab.lan.netns);
      const pump = startPump(lanWire, wanWire);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-lab-'));
      fs.writeFileSync(path.join(dir, 'hello.txt'), `hello through ${topology}\n`);
      // python3 -m http.server looks up its own address at start: the lab's /etc/netns/NAME/hosts answers it
      // (without it, the routed lab would send a DNS query through the pump and wait for its timeout).
      const server: ChildProcess = spawn(
        'ip',
        ['netns', 'exec', lab.wan.netns, 'python3', '-m', 'http.server', '8000', '--bind', lab.wan.address.split('/')[0], '--directory', dir],
        { stdio: 'ignore' },
      );
      try {
        const url = `http://${lab.wan.address.split('/')[0]}:8000/hello.txt`;
        let result = { code: -1 as number | null, stdout: '' };
        // The server needs a moment to listen: retry a few times (bounded).
        for (let attempt = 0; attempt < 20 && result.code !== 0; attempt++) {
          result = await exec('ip', ['netns', 'exec', lab.lan.netns, 'curl', '-s', '--max-time', '3', url], 5000);
          if (result.code !== 0) await new Promise((r) => setTimeout(r, 200));
        }
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(`hello through ${topology}\n`);
        expect(pump.frames()).toBeGreaterThan(4);
      } finally {
        pump.stop();
        server.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
      lanWire.close();
      wanWire.close();
      labDown(names(topology));
      expect(labStatus(names(topology)).some((s) => s.exists)).toBe(false);
    },
    30_000,
  );
});
