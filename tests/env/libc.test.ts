// The koffi libc bindings, on real files and the real kernel.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { O_CREAT, O_RDONLY, O_RDWR, libc } from '../../src/env/libc';

const FIONREAD = 0x541b; // asm-generic/ioctls.h: bytes available to read

describe('libc through koffi', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinynf-libc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('getpagesize matches getconf PAGESIZE', () => {
    expect(libc().getpagesize()).toBe(Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()));
  });

  it('getuid/geteuid match Node', () => {
    expect(libc().getuid()).toBe(process.getuid!());
    expect(libc().geteuid()).toBe(process.geteuid!());
  });

  it('open/pread/pwrite/close work on a real file at an offset', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, Buffer.from('0123456789abcdef'));
    const l = libc();
    const fd = l.open(file, O_RDWR, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    const buf = new Uint8Array(4);
    expect(l.pread(fd, buf, 4, 10)).toBe(4);
    expect(Buffer.from(buf).toString()).toBe('abcd');
    expect(l.pwrite(fd, new TextEncoder().encode('XY'), 2, 3)).toBe(2);
    expect(l.close(fd)).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('012XY56789abcdef');
  });

  it('creates files with a mode, and reports errors through errno/strerror', () => {
    const l = libc();
    const file = path.join(dir, 'new');
    const fd = l.open(file, O_RDWR | O_CREAT, 0o640);
    expect(fd).toBeGreaterThanOrEqual(0);
    l.close(fd);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(l.open(path.join(dir, 'missing'), O_RDONLY, 0)).toBe(-1);
    expect(l.errno()).toBe(2);
    expect(l.strerror(2)).toBe('No such file or directory');
  });

  it('ioctl passes a pointer argument (FIONREAD on a file)', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, Buffer.alloc(1234));
    const l = libc();
    const fd = l.open(file, O_RDONLY, 0);
    const out = new Uint8Array(4);
    expect(l.ioctl(fd, FIONREAD, out)).toBe(0);
    l.close(fd);
    expect(new DataView(out.buffer).getInt32(0, true)).toBe(1234);
  });
});
