// The transmit engine of the simulated 82599 port (Section 7.2): enabled queues' descriptors to the wire outputs,
// multi-descriptor gathering, padding and FCS, pacing, head write-back / DD.
import type { MemoryRegion } from './memory';
import type { TxQueueState } from './queues';
import * as R from './registers';
import { FCS_BYTES, MAX_FRAME_BYTES, MIN_FRAME_BYTES, PACE_LINE_RATE, PACE_UNLIMITED, WIRE_OVERHEAD_BYTES } from './nic-constants';
import { hex } from './nic-watch';
import { deliver, publishRxHead } from './nic-receive';
import type { SimNic } from './nic';

export function transmit(nic: SimNic, nowNs: number): boolean {
  const active = nic.activeTx;
  let busy = false;
  const on = nic.transmitEnable && !nic.masterDisabled;
  for (let k = 0; k < active.length; k++) {
    const q = active[k];
    if (on && q.head !== q.tail && nic.busMasterOk(nowNs, 'TX', q.index) && transmitQueue(nic, q, nowNs)) busy = true;
    // the descriptors handed over at this poll and not used by it are fetched now (RingState.unfetched)
    q.fetchPending();
  }
  return busy;
}

export function transmitQueue(nic: SimNic, q: TxQueueState, nowNs: number): boolean {
  const ring = q.ring;
  const snap = q.snapshot;
  const memory = nic.memory;
  const size = q.size;
  const start = q.head;
  const tail = q.tail;
  const paced = nic.paceMode !== PACE_UNLIMITED;
  // The common frame: one descriptor, IFCS with HLREG0.TXCRCEN, no padding needed, no loopback: its buffer goes to
  // the outputs as it is (sendFromBuffer), counted once per batch below
  const plain = nic.txCrc && !nic.loopback && !paced;
  const outputs = nic.outputs;
  let frames = 0;
  let bytes = 0;
  let head = start;
  // Descriptors from fetchFrom on were handed over at this poll and are fetched as they are read here: no snapshot
  // to compare with, and the snapshot records what was used (the tail-lap check compares with it)
  const fetchAt = q.unfetched !== 0 ? q.fetchFrom : -1;
  let fetching = false;
  const engine = nic.txEngine;
  if (engine !== null && plain && outputs.length === 0 && nic.txGathered === 0 && engine.serves(q)) {
    // the WebAssembly kernel (nic-tx-engine.ts) first, for the frames no wire takes; the loop below goes on from
    // the descriptor it stopped at, if any
    head = engine.transmit(q, fetchAt);
    frames = engine.frames;
    bytes = engine.bytes;
    if (engine.nulls !== 0) nic.stats.txNullDescriptors += engine.nulls;
    fetching = engine.fetching;
  }
  while (head !== tail) {
    // Pacing: the wire is busy until wireFreeNs; a frame cannot leave before the previous poll
    let departure = nowNs;
    if (paced) {
      departure = nic.wireFreeNs > nic.lastPollNs ? nic.wireFreeNs : nic.lastPollNs;
      if (departure > nowNs) break;
    }
    const i = head;
    const d = i * 4;
    const w0 = ring[d];
    const w1 = ring[d + 1];
    const w2 = ring[d + 2];
    if (i === fetchAt) fetching = true;
    if (fetching) {
      snap[d] = w0;
      snap[d + 1] = w1;
      snap[d + 2] = w2;
      snap[d + 3] = ring[d + 3];
    } else if (w0 !== snap[d] || w1 !== snap[d + 1] || w2 !== snap[d + 2] || ring[d + 3] !== snap[d + 3]) {
      nic.reportModified(q, 'TX', i, nowNs);
    }
    let length = w2 & R.TX_W2_LENGTH_MASK;
    if ((w2 & R.TX_CMD_DEXT) !== 0 && ((w2 & R.TX_ADV_DTYP_MASK) >>> R.TX_ADV_DTYP_SHIFT) !== R.TX_ADV_DTYP_DATA) {
      length = 0; // Section 7.2.3.2.3 advanced context descriptor: no data (offloads are not modelled)
    } else if (length === 0 && nic.txGathered === 0) {
      // A null descriptor (Section 7.2.3.2.2 with length 0): consumed, nothing is sent
      nic.stats.txNullDescriptors++;
    } else {
      const phys = w0 + w1 * 4294967296;
      const eop = (w2 & R.TX_CMD_EOP) !== 0;
      // a single-descriptor frame (the usual case): a view of its buffer, cached by address (no allocation)
      const view = eop && nic.txGathered === 0 ? q.bufferView(i, phys, length, memory) : null;
      const r = view !== null ? 0 : phys === 0 ? -1 : memory.translate(phys, length);
      if (r < 0) {
        nic.stats.dmaErrors++;
        nic.txGathered = 0;
        nic.checker.violation(nowNs, 'buffer-address-invalid', `TX ring ${q.index} descriptor ${i}`, `buffer address ${hex(phys)} (+${length} bytes) is not DMA memory; frame dropped`);
      } else if (view !== null) {
        if (plain && (w2 & R.TX_CMD_IFCS) !== 0 && length >= MIN_FRAME_BYTES) {
          // send(), for this frame: the wire frame is the buffer's data (the NIC appends the FCS)
          frames++;
          bytes += length + FCS_BYTES;
          for (let k = 0; k < outputs.length; k++) outputs[k].frame(view, length, departure);
        } else {
          sendFromBuffer(nic, view, length, (w2 & R.TX_CMD_IFCS) !== 0, departure);
        }
      } else {
        gather(nic, memory.regions[r], memory.offset, length, w2);
        if (eop) {
          const total = nic.txGathered;
          nic.txGathered = 0;
          send(nic, nic.txFrame, total, nic.txGatherIfcs, departure);
        }
      }
    }
    head = i + 1 === size ? 0 : i + 1;
    // Section 7.2.3.5: report status for descriptors with RS: head write-back, or DD in the descriptor
    if ((w2 & R.TX_CMD_RS) !== 0) {
      // Plain stores, published after the TDH store by the poll's release (SimNic.release: one per poll; the
      // ORDERING assumption of writeBackRx in nic-receive.ts)
      if (q.headWriteBack) {
        q.headWords[q.headIndex] = head;
      } else {
        // advanced write-back: STA in bits 3:0, the rest reserved (0); legacy: STA.DD, CSS/VLAN kept
        const w3 = (w2 & R.TX_CMD_DEXT) !== 0 ? R.TX_W3_DD : (ring[d + 3] | R.TX_W3_DD) >>> 0;
        ring[d + 3] = w3;
        snap[d + 3] = w3; // the NIC's own write is not software modifying the descriptor (tail-lap check)
      }
    }
  }
  q.head = head;
  if (fetching) q.fetchFrom = head;
  if (frames !== 0) {
    nic.stats.txPackets += frames;
    nic.stats.txBytes += bytes;
  }
  if (head === start) return false;
  if (q.consumed < size) q.consumed += head > start ? head - start : head + size - start;
  nic.hwPublish((q.base + R.TDH_OFF) >>> 2, head);
  return true;
}

/** Append a descriptor's data to the frame being gathered (multi-descriptor frames). */
export function gather(nic: SimNic, region: MemoryRegion, offset: number, length: number, w2: number): void {
  const at = nic.txGathered;
  if (at === 0) nic.txGatherIfcs = (w2 & R.TX_CMD_IFCS) !== 0;
  const room = MAX_FRAME_BYTES - at;
  const n = length < room ? length : room;
  copyToTxStaging(nic, region, offset, at, n);
  nic.txGathered = at + n;
}

export function copyToTxStaging(nic: SimNic, region: MemoryRegion, offset: number, at: number, length: number): void {
  const to = nic.txStagingOffset + at;
  if (region.buffer === nic.stagingBuffer) {
    nic.stagingBytes.copyWithin(to, offset, offset + length);
  } else {
    const src = region.bytes;
    const dst = nic.stagingBytes;
    for (let k = 0; k < length; k++) dst[to + k] = src[offset + k];
  }
}

/** A single-descriptor frame: give the outputs the view of the buffer itself when no padding is needed. */
export function sendFromBuffer(nic: SimNic, view: Uint8Array, length: number, ifcs: boolean, departure: number): void {
  if (ifcs && nic.txCrc && (length >= MIN_FRAME_BYTES || !nic.txPad)) {
    send(nic, view, length, true, departure);
    return;
  }
  // padding (or software's FCS to take off): through the staging frame (rare: short frames, no IFCS)
  const dst = nic.txFrame;
  for (let k = 0; k < length; k++) dst[k] = view[k];
  send(nic, dst, length, ifcs, departure);
}

/**
 * Put a frame on the wire. With IFCS (and HLREG0.TXCRCEN) the NIC appends the FCS, so the wire frame (which
 * excludes the FCS) is the data itself, padded to 60 bytes with HLREG0.TXPADEN; without it the data already
 * ends with software's FCS, which is not part of the wire frame.
 */
export function send(nic: SimNic, frame: Uint8Array, length: number, ifcs: boolean, departure: number): void {
  let wireLength = length;
  if (ifcs && nic.txCrc) {
    if (length < MIN_FRAME_BYTES && nic.txPad) {
      // only ever the staging frame (sendFromBuffer copies short frames)
      frame.fill(0, length, MIN_FRAME_BYTES);
      wireLength = MIN_FRAME_BYTES;
    }
  } else {
    wireLength = length >= FCS_BYTES ? length - FCS_BYTES : 0;
  }
  nic.stats.txPackets++;
  nic.stats.txBytes += wireLength + FCS_BYTES;
  if (nic.paceMode !== PACE_UNLIMITED) {
    const wireNs =
      nic.paceMode === PACE_LINE_RATE
        ? ((wireLength < MIN_FRAME_BYTES ? MIN_FRAME_BYTES : wireLength) + FCS_BYTES + WIRE_OVERHEAD_BYTES) * 0.8
        : nic.paceNsPerFrame;
    nic.wireFreeNs = departure + wireNs;
  }
  if (nic.loopback) {
    // Section 8.2.3.22.8 HLREG0.LPBK: transmitted frames loop back to receive, nothing goes on the wire
    if (nic.heldLength === 0) {
      if (frame !== nic.rxInto) nic.rxInto.set(frame.subarray(0, wireLength));
      deliver(nic, wireLength, departure);
      publishRxHead(nic);
    }
    return;
  }
  const outputs = nic.outputs;
  for (let k = 0; k < outputs.length; k++) outputs[k].frame(frame, wireLength, departure);
}
