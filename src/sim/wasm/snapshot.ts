// Descriptor snapshots in WebAssembly: copy `count` 16-byte descriptors from a ring to its snapshots with one v128
// load and store each, one call per tail move (RingState.snapshotRange for the rings of the engine areas, where
// ring and snapshots are both in the DMA window). The JavaScript loop costs several nanoseconds a descriptor.
import { SharedMemory, compile, instantiate } from './api';
import * as W from './encode';

const [to, from, count] = [0, 1, 2];

const body: W.Bytes = W.seqOf(
  W.block(
    W.loop(
      W.brIf(1, W.i32Eqz(W.get(count))),
      W.v128Copy(W.get(to), W.get(from)),
      W.set(to, W.i32Add(W.get(to), W.i32(16))),
      W.set(from, W.i32Add(W.get(from), W.i32(16))),
      W.set(count, W.i32Sub(W.get(count), W.i32(1))),
      W.br(0),
    ),
  ),
);

let compiled: object | null = null;

/** copy(to, from, count): `count` descriptors (16 bytes each) from byte `from` to byte `to` of `memory`. */
export function snapshotKernel(memory: SharedMemory): (to: number, from: number, count: number) => void {
  if (compiled === null) compiled = compile(W.module([{ name: 'copy', params: ['i32', 'i32', 'i32'], results: [], locals: [], body }]));
  return instantiate(compiled, memory).copy as (to: number, from: number, count: number) => void;
}
