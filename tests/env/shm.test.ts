// The native addon's SharedArrayBuffer over mmap: the same memory in the main thread, a worker thread and the
// file behind it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { shmAddon } from '../../src/env/native/addon';

describe('SharedArrayBuffer over an mmap-ed file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-shm-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('release() lets go of the file: the buffer then holds zero pages, and writes no longer reach the file', () => {
    const file = path.join(dir, 'released');
    fs.writeFileSync(file, Buffer.alloc(8192, 0x11));
    const fd = fs.openSync(file, 'r+');
    const buffer = shmAddon().map(fd, 8192, 0, true, false);
    fs.closeSync(fd);
    const bytes = new Uint8Array(buffer);
    expect(bytes[100]).toBe(0x11);
    const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file)).length;
    expect(maps()).toBe(1);
    shmAddon().release(buffer);
    expect(maps()).toBe(0);
    expect(bytes[100]).toBe(0);
    bytes[100] = 0x22;
    expect(bytes[100]).toBe(0x22);
    expect(fs.readFileSync(file)[100]).toBe(0x11);
  });

  it("is shared: a worker's writes are seen by the main thread and in the file", async () => {
    const file = path.join(dir, 'region');
    fs.writeFileSync(file, Buffer.alloc(4096));
    const fd = fs.openSync(file, 'r+');
    const buffer = shmAddon().map(fd, 4096, 0, true, false);
    fs.closeSync(fd); // the mapping outlives the descriptor
    const words = new Int32Array(buffer);
    Atomics.store(words, 0, 77);

    const worker = new Worker(path.join(__dirname, 'helpers', 'shm-worker.js'), { workerData: { buffer } });
    const reply = await new Promise<{ seenFromMain: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();

    expect(reply.seenFromMain).toBe(77);
    expect(Atomics.load(words, 1)).toBe(0x12345678);
    expect(Atomics.load(words, 1023)).toBe(-2);
    const onDisk = fs.readFileSync(file);
    expect(onDisk.readInt32LE(0)).toBe(77);
    expect(onDisk.readInt32LE(4)).toBe(0x12345678);
    expect(onDisk.readInt32LE(4092)).toBe(-2);
  });

  it('maps at an offset, read-only when asked, and reports the virtual address', () => {
    const file = path.join(dir, 'region');
    const content = Buffer.alloc(8192);
    content.writeUInt32LE(0xfeedbeef, 4096);
    fs.writeFileSync(file, content);
    const fd = fs.openSync(file, 'r');
    const buffer = shmAddon().map(fd, 4096, 4096, false, false);
    fs.closeSync(fd);
    expect(buffer.byteLength).toBe(4096);
    expect(new Uint32Array(buffer)[0]).toBe(0xfeedbeef);
    const address = shmAddon().addressOf(buffer);
    expect(address % 4096).toBe(0); // mmap returns page-aligned addresses
    expect(address).toBeGreaterThan(0);
    expect(Number.isSafeInteger(address)).toBe(true);
  });

  it('reports mmap failures', () => {
    expect(() => shmAddon().map(-1, 4096, 0, false, false)).toThrow(/mmap failed: Bad file descriptor/);
  });
});
