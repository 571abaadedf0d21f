// The transmit burst of a simulated port in WebAssembly: what transmitQueue (../nic-transmit.ts) does for queue 0
// of a port with no output attached (its frames are counted, not handed to any wire) when every descriptor is the
// common one — one descriptor per frame, IFCS, at least 60 bytes, unpaced, no loopback — one call per burst.
// Why: see rx-engine.ts (the per-descriptor work in JavaScript costs several times more than here).
//
// Per descriptor, as transmitQueue: from `fetchAt` on (descriptors handed over at this poll, RingState.unfetched)
// the read is the fetch and the snapshot records it; before it, a descriptor that differs from its snapshot stops
// the burst (the JavaScript path reports it). Null descriptors (length 0) are consumed and counted. A
// context descriptor, a frame of several descriptors, one without IFCS or shorter than 60 bytes (padding), or a
// buffer outside the window's DMA part stops the burst there: the JavaScript path takes it. RS: the head written
// back (Section 7.2.3.5.2) or DD in the descriptor, mirrored into the snapshot (the tail-lap check).
import * as R from '../registers';
import { MIN_FRAME_BYTES, FCS_BYTES } from '../nic-constants';
import { SharedMemory, compile, instantiate } from './api';
import * as W from './encode';

/** The state block: doubles at these indices (in/out as marked; head, tail and fetchAt come as parameters). */
export const T = {
  ring: 0,
  snap: 1,
  size: 2,
  physLow: 3, // buffers must be in [physLow, physHigh - length]
  physHigh: 4,
  headWriteBack: 5, // 1: head write-back to headAddr
  headAddr: 6,
  bytes: 7, // out: Section 8.2.3.23.26 octets, FCS included
} as const;
export const TX_STATE_DOUBLES = 8;

/** The integer outputs: i32 words after the doubles (why: rx-engine.ts SI). */
export const TI = {
  head: 0,
  nulls: 1, // null descriptors consumed
  fetching: 2, // fetchAt was reached
} as const;
export const TX_STATE_INTS_AT = TX_STATE_DOUBLES * 8;
export const TX_STATE_INTS = Object.keys(TI).length;

// parameters: the state block's byte offset, then what changes at every burst (passing it costs no stores):
// head, tail, and fetchAt + 1 (0: nothing to fetch)
const [s, head, tail, fetchAt] = [0, 1, 2, 3];
const PARAMS: W.ValType[] = ['i32', 'i32', 'i32', 'i32'];
// locals, numbered after the parameters, grouped by type as LOCALS declares them
const I32 = PARAMS.length;
const [ring, snap, size, frames, nulls, fetching, d, e, w2, length, headWriteBack, headAddr, w3] = Array.from({ length: 13 }, (_, i) => I32 + i);
const bytes = I32 + 13;
const [physLow, physHigh, phys] = [I32 + 14, I32 + 15, I32 + 16];
const LOCALS: W.ValType[] = [...Array<W.ValType>(13).fill('i32'), 'f64', 'i64', 'i64', 'i64'];

const field = (i: number): W.Bytes => W.f64Load(W.get(s), i * 8);
const intField = (i: number): W.Bytes => W.i32FromF64(field(i));
const put = (i: number, value: W.Bytes): W.Bytes => W.f64Store(W.get(s), value, i * 8);
const putInt = (i: number, value: W.Bytes): W.Bytes => W.i32Store(W.get(s), value, TX_STATE_INTS_AT + i * 4);
const has = (bits: number): W.Bytes => W.i32And(W.get(w2), W.i32(bits));

const body: W.Bytes = W.seqOf(
  W.set(ring, intField(T.ring)),
  W.set(snap, intField(T.snap)),
  W.set(size, intField(T.size)),
  W.set(physLow, W.i64FromF64(field(T.physLow))),
  W.set(physHigh, W.i64FromF64(field(T.physHigh))),
  W.set(headWriteBack, intField(T.headWriteBack)),
  W.set(headAddr, intField(T.headAddr)),
  W.set(frames, W.i32(0)),
  W.set(nulls, W.i32(0)),
  W.set(fetching, W.i32(0)),
  W.set(bytes, W.f64(0)),
  W.block(
    W.loop(
      W.brIf(1, W.i32Eq(W.get(head), W.get(tail))),
      W.set(d, W.i32Add(W.get(ring), W.i32Shl(W.get(head), W.i32(4)))),
      W.set(e, W.i32Add(W.get(snap), W.i32Shl(W.get(head), W.i32(4)))),
      W.if_(W.i32Eq(W.i32Add(W.get(head), W.i32(1)), W.get(fetchAt)), [W.set(fetching, W.i32(1))]),
      W.if_(
        W.get(fetching),
        [W.v128Copy(W.get(e), W.get(d))],
        [W.if_(W.differ16(W.get(d), W.get(e)), [W.br(3)])],
      ),
      W.set(w2, W.i32Load(W.get(d), 8)),
      W.set(length, W.i32And(W.get(w2), W.i32(R.TX_W2_LENGTH_MASK))),
      // an advanced context descriptor (Section 7.2.3.2.3): the JavaScript path
      W.if_(W.i32And(W.i32Ne(has(R.TX_CMD_DEXT), W.i32(0)), W.i32Ne(has(R.TX_ADV_DTYP_MASK), W.i32(R.TX_ADV_DTYP_DATA << R.TX_ADV_DTYP_SHIFT))), [W.br(2)]),
      W.if_(
        W.i32Eqz(W.get(length)),
        // a null descriptor (Section 7.2.3.2.2 with length 0): consumed, nothing is sent
        [W.set(nulls, W.i32Add(W.get(nulls), W.i32(1)))],
        [
          W.if_(W.i32Ne(has(R.TX_CMD_EOP | R.TX_CMD_IFCS), W.i32(R.TX_CMD_EOP | R.TX_CMD_IFCS)), [W.br(3)]),
          W.if_(W.i32LtU(W.get(length), W.i32(MIN_FRAME_BYTES)), [W.br(3)]),
          W.set(phys, W.i64Load(W.get(d))),
          W.if_(W.i32Or(W.i64LtU(W.get(phys), W.get(physLow)), W.i64GtU(W.i64Add(W.get(phys), W.i64FromI32(W.get(length))), W.get(physHigh))), [W.br(3)]),
          W.set(frames, W.i32Add(W.get(frames), W.i32(1))),
          W.set(bytes, W.f64Add(W.get(bytes), W.f64FromI32(W.i32Add(W.get(length), W.i32(FCS_BYTES))))),
        ],
      ),
      W.set(head, W.select(W.i32(0), W.i32Add(W.get(head), W.i32(1)), W.i32Eq(W.i32Add(W.get(head), W.i32(1)), W.get(size)))),
      // Section 7.2.3.5: report status for descriptors with RS
      W.if_(has(R.TX_CMD_RS), [
        W.if_(
          W.get(headWriteBack),
          [W.i32Store(W.get(headAddr), W.get(head))],
          [
            // advanced: STA.DD, the rest reserved (0); legacy: STA.DD, CSS/VLAN kept
            W.set(w3, W.select(W.i32(R.TX_W3_DD), W.i32Or(W.i32Load(W.get(d), 12), W.i32(R.TX_W3_DD)), has(R.TX_CMD_DEXT))),
            W.i32Store(W.get(d), W.get(w3), 12),
            W.i32Store(W.get(e), W.get(w3), 12),
          ],
        ),
      ]),
      W.br(0),
    ),
  ),
  putInt(TI.head, W.get(head)),
  put(T.bytes, W.get(bytes)),
  putInt(TI.nulls, W.get(nulls)),
  putInt(TI.fetching, W.get(fetching)),
  W.get(frames),
);

let compiled: object | null = null;

/** transmit(state, head, tail, fetchAt + 1): one burst (see the top of this file); the frames sent. */
export type TxKernel = (state: number, head: number, tail: number, fetchAtPlusOne: number) => number;

/** The transmit kernel over `memory`. */
export function txKernel(memory: SharedMemory): TxKernel {
  if (compiled === null) compiled = compile(W.module([{ name: 'transmit', params: PARAMS, results: ['i32'], locals: LOCALS, body }]));
  return instantiate(compiled, memory).transmit as TxKernel;
}
