// DeviceMemory: the only access to a BAR. Whole aligned 32-bit words; anything else is a TinyNfError, never an access.
import { DeviceMemory, checkDeviceMemoryArchitecture } from '../../src/env/device-memory';
import { TinyNfError } from '../../src/env/environment';

describe('DeviceMemory', () => {
  test('read32/write32 and register() reach the 32-bit little-endian word at the byte offset', () => {
    const bar = new SharedArrayBuffer(128 * 1024);
    const memory = new DeviceMemory(bar);
    memory.write32(0x6018, 0xdeadbeef);
    expect(new Uint8Array(bar, 0x6018, 4)).toEqual(Uint8Array.of(0xef, 0xbe, 0xad, 0xde));
    expect(memory.read32(0x6018)).toBe(0xdeadbeef);
    const tail = memory.register(0x1018);
    tail.write32(1023);
    expect(tail.offset).toBe(0x1018);
    expect(memory.read32(0x1018)).toBe(1023);
    expect(tail.read32()).toBe(1023);
    expect(new Uint32Array(bar)[0x1018 >>> 2]).toBe(1023);
  });

  test.each([2, 0x1019, -4, 1.5, NaN, 128 * 1024, 200 * 1024])('offset %p is refused with a TinyNfError', (offset) => {
    const memory = new DeviceMemory(new SharedArrayBuffer(128 * 1024));
    expect(() => memory.write32(offset, 1)).toThrow(TinyNfError);
    expect(() => memory.read32(offset)).toThrow(/not an aligned 32-bit register/);
    expect(() => memory.register(offset)).toThrow(TinyNfError);
  });

  test('a window must fit the mapping and be whole words', () => {
    expect(() => new DeviceMemory(new SharedArrayBuffer(4096), 8192)).toThrow(TinyNfError);
    expect(() => new DeviceMemory(new SharedArrayBuffer(4096), 6)).toThrow(TinyNfError);
    const small = new DeviceMemory(new SharedArrayBuffer(4096), 8);
    expect(() => small.read32(8)).toThrow(TinyNfError);
  });

  test('only x86-64 is accepted, with one line naming the CPU', () => {
    expect(() => checkDeviceMemoryArchitecture('x64')).not.toThrow();
    expect(() => checkDeviceMemoryArchitecture('arm64')).toThrow(
      new TinyNfError('tinynf drives device memory only on x86-64 (this CPU is arm64): its register writes rely on x86-64 store ordering'),
    );
  });
});
