// `tinynf decode` into a pipe: it waits for a slow reader instead of queueing its output (a 678 MB capture piped
// into wc once ended in an ENOBUFS stack trace after 1,024 lines: the lines queued without waiting grew to over a
// gigabyte), and it stops when the reader goes away (| head).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PcapWriter } from '../../src/sim/wires/pcap';
import { TrafficGenerator } from '../../src/sim/wires/generator';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tinynf.js');
const FRAMES = 300_000;

let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-decode-pipe-'));
  file = path.join(dir, 'frames.pcap');
  const w = new PcapWriter(file, { resolution: 'us', epochSeconds: 1_700_000_000 });
  const g = new TrafficGenerator({ flows: 100, frameSize: 60, count: FRAMES });
  const buf = new Uint8Array(2048);
  let i = 0;
  for (let n = g.next(buf, 0); n > 0; n = g.next(buf, 0)) w.frame(buf, n, i++ * 1000);
  w.close();
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The resident set of process `pid`, in KiB. */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('tinynf decode into a pipe', () => {
  it('waits while the reader does not read: no more memory than decoding to /dev/null, then every line arrives', async () => {
    // the reference: the same decode written to /dev/null (synchronous writes, nothing queued), its largest RSS
    const reference = spawn(process.execPath, [BIN, 'decode', file], { stdio: ['ignore', 'ignore', 'ignore'] });
    let referenceKiB = 0;
    const sampler = setInterval(() => {
      try {
        referenceKiB = Math.max(referenceKiB, rssKiB(reference.pid as number));
      } catch {
        // exited between two samples
      }
    }, 20);
    await new Promise((resolve) => reference.on('close', resolve));
    clearInterval(sampler);

    const child = spawn(process.execPath, [BIN, 'decode', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.pause();
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // long enough to decode the whole capture (the pipe holds 64 KiB of its ~40 MB of text)
    await sleep(3000);
    const pausedKiB = rssKiB(child.pid as number);
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (let k = 0; k < d.length; k++) if (d[k] === 10) lines++;
    });
    child.stdout.resume();
    const status = await closed;
    // before the fix the paused process held every decoded line: 212 MB against 172 MB for the reference, 164 MB now
    expect({ pausedKiB, referenceKiB, within: pausedKiB < referenceKiB + 20_000 }).toMatchObject({ within: true });
    expect({ status, lines, stderr }).toEqual({ status: 0, lines: FRAMES, stderr: '' });
  }, 60_000);

  it('`| head -1`: exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'decode', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  }, 60_000);
});
