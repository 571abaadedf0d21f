// The receive burst of a simulated port in WebAssembly: what receiveDirect (../nic-receive.ts) does for an input
// that stamps one frame length from templates (the generator's short path, StampingInput in ../wire.ts), one call
// per burst instead of JavaScript per frame. Why: a 60-byte stamp is 15 bounds-checked word copies in V8 (~16-20
// ns on the development VM) against ~5 ns with v128 stores here; the descriptor check and write-back shrink alike;
// and one JavaScript-to-WebAssembly call costs ~15 ns, so only a whole burst per call pays (docs/simulator.md).
//
// It needs the DMA window to be a shared WebAssembly.Memory (the inline and worker machines allocate it so; the
// standalone mode's files are not) and, in that memory, per port an engine area (layout.ts): the state block the
// call reads and writes, receive queue 0's descriptor snapshots, and the input's templates.
//
// Per descriptor, as receiveDirect (every rule there holds here; the differences are only where each value lives):
// stop at the budget, the tail or a busy wire; stop (the JavaScript path takes over at that descriptor) if it
// differs from its snapshot, its buffer is not in the window's DMA part or not 4-byte aligned; stop (dry = 1) if
// the input has nothing due; else stamp the next flow's template into the buffer, advance the wire time, write the
// descriptor back (status word last: the ORDERING assumption of writeBackRx) and move the head.
import * as R from '../registers';
import { SharedMemory, compile, instantiate } from './api';
import * as W from './encode';

/**
 * The state block: doubles at these indices. What changes at every burst (head, tail, budget, now, wire and
 * arrival floor times, the generator's next flow, frames sent and wire bits) comes as parameters instead; the
 * ones marked out are written back.
 */
export const S = {
  ring: 0, // byte offset of the ring in the memory
  snap: 1, // byte offset of the ring's snapshots
  size: 2,
  wireFree: 3, // out
  advanced: 4, // 1: advanced descriptors (Section 7.1.6), 0: legacy (7.1.5)
  physBase: 5, // physical address of memory byte 0: buffers must be in [physBase, physHigh - max]
  physHigh: 6,
  max: 7,
  table: 8, // byte offset of the per-flow template offsets (one i32 each)
  flows: 9,
  length: 10,
  rateKind: 11, // 0 unlimited, 1 line rate (due = start + wireBits / lineRate), 2 fixed (due = start + sent * interval)
  start: 12,
  interval: 13,
  sent: 14, // out
  count: 15,
  wireBits: 16, // out
  frameBits: 17,
  arrivalNs: 18, // wire time of one frame (arrivalEnd's increment)
  lineRate: 19,
} as const;
export const STATE_DOUBLES = 20;

/**
 * The integer outputs: i32 words at STATE_INTS_AT, after the doubles. Read through an Int32Array they are small
 * integers to JavaScript; read from a Float64Array they would be doubles, and a double stored into RingState.head
 * makes V8 keep that field as a boxed double, converted at every later use as an index.
 */
export const SI = {
  head: 0,
  nextFlow: 1,
  dry: 2, // the input had nothing due
  dropped: 3, // frames dropped for want of a descriptor (DROP_EN), not written anywhere
} as const;
export const STATE_INTS_AT = STATE_DOUBLES * 8;
export const STATE_INTS = Object.keys(SI).length;

export const RATE_KIND_UNLIMITED = 0;
export const RATE_KIND_LINE = 1;
export const RATE_KIND_FIXED = 2;

// parameters: the state block's byte offset, then what changes at every burst (passing it costs no stores)
const [s, head, tail, budget, nextFlow] = [0, 1, 2, 3, 4];
const [now, wireFree, floor, sent, wireBits] = [5, 6, 7, 8, 9];
// canDrop: 1 when a frame finding no free descriptor is dropped (SRRCTL.DROP_EN) rather than waited for
const [canDrop] = [10];
const PARAMS: W.ValType[] = ['i32', 'i32', 'i32', 'i32', 'i32', 'f64', 'f64', 'f64', 'f64', 'f64', 'i32'];
// locals, numbered after the parameters, grouped by type as LOCALS declares them
const I32 = PARAMS.length;
const [ring, snap, size, frames, advanced, table, flows, length, rateKind, d, e, at, src, k, dry, dropped] = Array.from({ length: 16 }, (_, i) => I32 + i);
const F64 = I32 + 16;
const [start, interval, count, frameBits, arrivalNs, lineRate, due] = Array.from({ length: 7 }, (_, i) => F64 + i);
const I64 = F64 + 7;
const [physBase, physHigh, phys, max] = Array.from({ length: 4 }, (_, i) => I64 + i);
const LOCALS: W.ValType[] = [...Array<W.ValType>(16).fill('i32'), ...Array<W.ValType>(7).fill('f64'), ...Array<W.ValType>(4).fill('i64')];

const field = (i: number): W.Bytes => W.f64Load(W.get(s), i * 8);
const intField = (i: number): W.Bytes => W.i32FromF64(field(i));
const put = (i: number, value: W.Bytes): W.Bytes => W.f64Store(W.get(s), value, i * 8);
const putInt = (i: number, value: W.Bytes): W.Bytes => W.i32Store(W.get(s), value, STATE_INTS_AT + i * 4);

/**
 * Copy `length` bytes (at least 16: prepare() takes no runts) from `src` to `at` (locals) 16 at a time, the last 16
 * ending at `length` (overlapping the one before when `length` is not a multiple of 16); uses k.
 */
const copyFrame: W.Bytes = W.seqOf(
  W.set(k, W.i32(0)),
  W.loop(
    W.v128Copy(W.i32Add(W.get(at), W.get(k)), W.i32Add(W.get(src), W.get(k))),
    W.set(k, W.i32Add(W.get(k), W.i32(16))),
    W.brIf(0, W.i32LtU(W.i32Add(W.get(k), W.i32(16)), W.get(length))),
  ),
  W.v128Copy(W.i32Add(W.get(at), W.i32Sub(W.get(length), W.i32(16))), W.i32Add(W.get(src), W.i32Sub(W.get(length), W.i32(16)))),
);

/**
 * The input's count limit, then the due time of its next frame: either ends the burst with dry = 1 (`extra`: how
 * many blocks deeper than the loop's body this sits).
 */
const inputDue = (extra: number): W.Bytes =>
  W.seqOf(
    W.if_(W.f64Ge(W.get(sent), W.get(count)), [W.set(dry, W.i32(1)), W.br(2 + extra)]),
    W.if_(W.get(rateKind), [
      W.if_(
        W.i32Eq(W.get(rateKind), W.i32(RATE_KIND_LINE)),
        [W.set(due, W.f64Add(W.get(start), W.f64Div(W.get(wireBits), W.get(lineRate))))],
        [W.set(due, W.f64Add(W.get(start), W.f64Mul(W.get(sent), W.get(interval))))],
      ),
      W.if_(W.f64Gt(W.get(due), W.get(now)), [W.set(dry, W.i32(1)), W.br(3 + extra)]),
    ]),
  );

/** The flow after this frame's (in turn). */
const nextFlowStep: W.Bytes = W.set(nextFlow, W.select(W.i32(0), W.i32Add(W.get(nextFlow), W.i32(1)), W.i32Eq(W.i32Add(W.get(nextFlow), W.i32(1)), W.get(flows))));

/** A frame produced: the input's counters, and the wire busy until it has arrived (arrivalEnd, from the later of
 * the wire's free time and the arrival floor: nic-receive.ts backlogFloor). */
const inputStep: W.Bytes = W.seqOf(
  W.set(sent, W.f64Add(W.get(sent), W.f64(1))),
  W.set(wireBits, W.f64Add(W.get(wireBits), W.get(frameBits))),
  W.set(wireFree, W.f64Add(W.select(W.get(wireFree), W.get(floor), W.f64Gt(W.get(wireFree), W.get(floor))), W.get(arrivalNs))),
);

const body: W.Bytes = W.seqOf(
  W.set(ring, intField(S.ring)),
  W.set(snap, intField(S.snap)),
  W.set(size, intField(S.size)),
  W.set(advanced, intField(S.advanced)),
  W.set(table, intField(S.table)),
  W.set(flows, intField(S.flows)),
  W.set(length, intField(S.length)),
  W.set(rateKind, intField(S.rateKind)),
  W.set(start, field(S.start)),
  W.set(interval, field(S.interval)),
  W.set(count, field(S.count)),
  W.set(frameBits, field(S.frameBits)),
  W.set(arrivalNs, field(S.arrivalNs)),
  W.set(lineRate, field(S.lineRate)),
  W.set(physBase, W.i64FromF64(field(S.physBase))),
  W.set(physHigh, W.i64FromF64(field(S.physHigh))),
  W.set(max, W.i64FromF64(field(S.max))),
  W.set(frames, W.i32(0)),
  W.set(dry, W.i32(0)),
  W.set(dropped, W.i32(0)),
  W.block(
    W.loop(
      W.brIf(1, W.i32GeU(W.i32Add(W.get(frames), W.get(dropped)), W.get(budget))),
      W.brIf(1, W.f64Gt(W.get(wireFree), W.get(now))),
      // no free descriptor: with DROP_EN the input's next frame is dropped unread (receiveFrames' skip), else stop
      W.if_(W.i32Eq(W.get(head), W.get(tail)), [
        W.brIf(2, W.i32Eqz(W.get(canDrop))),
        inputDue(1),
        nextFlowStep,
        inputStep,
        W.set(dropped, W.i32Add(W.get(dropped), W.i32(1))),
        W.br(1),
      ]),
      W.set(d, W.i32Add(W.get(ring), W.i32Shl(W.get(head), W.i32(4)))),
      W.set(e, W.i32Add(W.get(snap), W.i32Shl(W.get(head), W.i32(4)))),
      // modified since it was handed over: the JavaScript path reports it
      W.if_(W.differ16(W.get(d), W.get(e)), [W.br(2)]),
      W.set(phys, W.i64Load(W.get(d))),
      // the buffer must be in the window's DMA part, max bytes of it, at a 4-byte aligned address (else: JavaScript)
      W.if_(W.i32Or(W.i64LtU(W.get(phys), W.get(physBase)), W.i64GtU(W.i64Add(W.get(phys), W.get(max)), W.get(physHigh))), [W.br(2)]),
      W.set(at, W.i32WrapI64(W.i64Sub(W.get(phys), W.get(physBase)))),
      W.if_(W.i32And(W.get(at), W.i32(3)), [W.br(2)]),
      inputDue(0),
      W.set(src, W.i32Load(W.i32Add(W.get(table), W.i32Shl(W.get(nextFlow), W.i32(2))))),
      nextFlowStep,
      copyFrame,
      inputStep,
      // write-back, the status word last (writeBackRx)
      W.if_(
        W.get(advanced),
        [
          W.i64Store(W.get(d), W.i64Const0()),
          W.i32Store(W.get(d), W.get(length), 12),
          W.i32Store(W.get(d), W.i32(R.RX_ADV_W2_DD | R.RX_ADV_W2_EOP), 8),
        ],
        [W.i32Store(W.get(d), W.get(length), 8), W.i32Store(W.get(d), W.i32(R.RX_LEGACY_W3_DD | R.RX_LEGACY_W3_EOP), 12)],
      ),
      W.set(head, W.select(W.i32(0), W.i32Add(W.get(head), W.i32(1)), W.i32Eq(W.i32Add(W.get(head), W.i32(1)), W.get(size)))),
      W.set(frames, W.i32Add(W.get(frames), W.i32(1))),
      W.br(0),
    ),
  ),
  putInt(SI.head, W.get(head)),
  put(S.wireFree, W.get(wireFree)),
  putInt(SI.nextFlow, W.get(nextFlow)),
  put(S.sent, W.get(sent)),
  put(S.wireBits, W.get(wireBits)),
  putInt(SI.dry, W.get(dry)),
  putInt(SI.dropped, W.get(dropped)),
  W.get(frames),
);

let compiled: object | null = null;

/** receive(state, head, tail, budget, nextFlow, now, wireFree, floor, sent, wireBits, canDrop): one burst; frames received. */
export type RxKernel = (state: number, head: number, tail: number, budget: number, nextFlow: number, now: number, wireFree: number, floor: number, sent: number, wireBits: number, canDrop: number) => number;

/** The receive kernel over `memory` (see the top of this file and RxKernel). */
export function rxKernel(memory: SharedMemory): RxKernel {
  if (compiled === null) compiled = compile(W.module([{ name: 'receive', params: PARAMS, results: ['i32'], locals: LOCALS, body }]));
  return instantiate(compiled, memory).receive as RxKernel;
}
