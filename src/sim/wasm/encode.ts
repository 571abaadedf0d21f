// A minimal WebAssembly binary encoder: just what the simulator's data-path kernels (rx-engine.ts) need — one
// imported shared memory, functions of i32/i64/f64 locals, structured control flow, loads and stores, and the
// v128 load/store of the SIMD proposal (in Node since 16.4). Instructions are written as calls that return bytes,
// so a kernel reads as its WebAssembly text would (WebAssembly Core Specification 2.0, section 5 "Binary Format").
// No dependency: a full assembler (wabt) would be a 2 MB package for ~60 instructions.

export type Bytes = number[];
export type ValType = 'i32' | 'i64' | 'f64';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c };

/** Unsigned LEB128 (section 5.2.2). */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (section 5.2.2). */
export function sleb(n: number): Bytes {
  const out: Bytes = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: Bytes): Bytes {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): Bytes {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

export interface FunctionDef {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Locals after the parameters (their indices follow the parameters'). */
  locals: ValType[];
  body: Bytes;
}

/**
 * A module importing one shared memory as `env.memory` (any size: at least 1 page, at most 65536, the 4 GiB of a
 * 32-bit memory) and exporting `functions` by name.
 */
export function module(functions: FunctionDef[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...uleb(f.params.length), ...f.params.map((t) => VALTYPE[t]), ...uleb(f.results.length), ...f.results.map((t) => VALTYPE[t])]);
  const typeSection = section(1, [...uleb(types.length), ...types.flat()]);
  // limits 0x03: minimum and maximum, shared (threads proposal, section 5.3.4 with the shared flag)
  const importSection = section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]);
  const functionSection = section(3, [...uleb(functions.length), ...functions.map((_, i) => uleb(i)).flat()]);
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const exportSection = section(7, [...uleb(exports.length), ...exports.flat()]);
  const bodies = functions.map((f) => {
    const groups = f.locals.map((t) => [1, VALTYPE[t]]);
    const code = [...uleb(groups.length), ...groups.flat(), ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  const codeSection = section(10, [...uleb(bodies.length), ...bodies.flat()]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...typeSection, ...importSection, ...functionSection, ...exportSection, ...codeSection]);
}

// ---------------------------------------------------------------- instructions (section 5.4)

/** Instructions in sequence. */
export const seqOf = (...parts: Bytes[]): Bytes => parts.flat();
const seq = seqOf;

export const get = (local: number): Bytes => [0x20, ...uleb(local)];
export const set = (local: number, ...value: Bytes[]): Bytes => [...seq(...value), 0x21, ...uleb(local)];
export const i32 = (n: number): Bytes => [0x41, ...sleb(n)];
export const i64Const0 = (): Bytes => [0x42, 0x00];
export function f64(x: number): Bytes {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [0x44, ...b];
}

/** block ... end (label depth 0 inside: br 0 leaves it). */
export const block = (...body: Bytes[]): Bytes => [0x02, 0x40, ...seq(...body), 0x0b];
/** loop ... end (br 0 inside goes back to its start). */
export const loop = (...body: Bytes[]): Bytes => [0x03, 0x40, ...seq(...body), 0x0b];
/** if (condition) then ... [else ...] end. */
export const if_ = (condition: Bytes, then: Bytes[], otherwise: Bytes[] = []): Bytes => [
  ...condition,
  0x04,
  0x40,
  ...seq(...then),
  ...(otherwise.length > 0 ? [0x05, ...seq(...otherwise)] : []),
  0x0b,
];
export const br = (depth: number): Bytes => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, condition: Bytes): Bytes => [...condition, 0x0d, ...uleb(depth)];
/** select: a if condition else b (both evaluated). */
export const select = (a: Bytes, b: Bytes, condition: Bytes): Bytes => [...a, ...b, ...condition, 0x1b];

// memory access: memarg = alignment (log2) and a constant offset
const mem = (op: number, align: number, address: Bytes, offset: number): Bytes => [...address, op, align, ...uleb(offset)];
export const i32Load = (address: Bytes, offset = 0): Bytes => mem(0x28, 2, address, offset);
export const i64Load = (address: Bytes, offset = 0): Bytes => mem(0x29, 3, address, offset);
export const f64Load = (address: Bytes, offset = 0): Bytes => mem(0x2b, 3, address, offset);
export const i32Load8 = (address: Bytes, offset = 0): Bytes => mem(0x2d, 0, address, offset);
export const i32Store = (address: Bytes, value: Bytes, offset = 0): Bytes => [...address, ...value, 0x36, 2, ...uleb(offset)];
export const i64Store = (address: Bytes, value: Bytes, offset = 0): Bytes => [...address, ...value, 0x37, 3, ...uleb(offset)];
export const f64Store = (address: Bytes, value: Bytes, offset = 0): Bytes => [...address, ...value, 0x39, 3, ...uleb(offset)];
export const i32Store8 = (address: Bytes, value: Bytes, offset = 0): Bytes => [...address, ...value, 0x3a, 0, ...uleb(offset)];
/** v128.load / v128.store (SIMD, opcodes 0xfd 0 and 0xfd 11), alignment hint 1 byte: any address. */
/** v128.load (0xfd 0), alignment hint 1 byte. */
export const v128Load = (address: Bytes, offset = 0): Bytes => [...address, 0xfd, 0x00, 0, ...uleb(offset)];
/** v128.xor (0xfd 81). */
export const v128Xor = (a: Bytes, b: Bytes): Bytes => [...a, ...b, 0xfd, 0x51];
/** v128.any_true (0xfd 83): 1 if any bit is set. */
export const v128AnyTrue = (a: Bytes): Bytes => [...a, 0xfd, 0x53];
/** 1 if the 16 bytes at `a` and at `b` differ (one 16-byte compare). */
export const differ16 = (a: Bytes, b: Bytes): Bytes => v128AnyTrue(v128Xor(v128Load(a), v128Load(b)));
export const v128Copy = (to: Bytes, from: Bytes, offset = 0): Bytes => [...to, ...from, 0xfd, 0x00, 0, ...uleb(offset), 0xfd, 0x0b, 0, ...uleb(offset)];

const binary = (op: number) => (a: Bytes, b: Bytes): Bytes => [...a, ...b, op];
const unary = (op: number) => (a: Bytes): Bytes => [...a, op];
export const i32Eqz = unary(0x45);
export const i32Eq = binary(0x46);
export const i32Ne = binary(0x47);
export const i32LtU = binary(0x49);
export const i32GtU = binary(0x4b);
export const i32LeU = binary(0x4d);
export const i32GeU = binary(0x4f);
export const i64Ne = binary(0x52);
export const i64LtU = binary(0x54);
export const i64GtU = binary(0x56);
export const f64Gt = binary(0x64);
export const f64Ge = binary(0x66);
export const i32Add = binary(0x6a);
export const i32Sub = binary(0x6b);
export const i32And = binary(0x71);
export const i32Or = binary(0x72);
export const i32Shl = binary(0x74);
export const i64Add = binary(0x7c);
export const i64Sub = binary(0x7d);
export const f64Add = binary(0xa0);
export const f64Mul = binary(0xa2);
export const f64Div = binary(0xa3);
export const i32WrapI64 = unary(0xa7);
/** i32.trunc_f64_u: a non-negative integer below 2^32 held as a double. */
export const i32FromF64 = unary(0xab);
/** i64.trunc_f64_u: a non-negative integer below 2^53 held as a double. */
export const i64FromF64 = unary(0xb1);
export const f64FromI32 = unary(0xb8);
export const i64FromI32 = unary(0xad);
