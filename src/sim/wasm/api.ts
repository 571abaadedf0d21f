// The parts of the WebAssembly JavaScript API the simulator uses, typed here: the project's lib (ES2022) has no
// WebAssembly types and @types/node 20 declares none, and these stay out of the package's public declarations.

/** A shared WebAssembly.Memory: its buffer is a SharedArrayBuffer like any other (typed arrays, workers). */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
}

interface Api {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

const api = (globalThis as unknown as { WebAssembly: Api }).WebAssembly;

export const WASM_PAGE_BYTES = 65536;

/** A shared memory of at least `bytes` bytes (whole 64 KiB pages; it never grows). */
export function sharedMemory(bytes: number): SharedMemory {
  const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
  return new api.Memory({ initial: pages, maximum: pages, shared: true });
}

export function compile(bytes: Uint8Array): object {
  return new api.Module(bytes);
}

export function instantiate(module: object, memory: SharedMemory): Record<string, unknown> {
  return new api.Instance(module, { env: { memory } }).exports;
}
