// The receive engine of the simulated 82599 port (Section 7.1): frames from the wire input into queue 0's
// descriptors, L2 filtering, drops and their counters, descriptor write-back.
import { appendFcs } from './crc32';
import type { MemoryRegion } from './memory';
import * as C from './pci-config';
import type { RxQueueState } from './queues';
import type { DirectInput } from './wire';
import * as R from './registers';
import { STANDARD_MAX_FRAME_WITH_FCS } from './registers';
import { FCS_BYTES, MAX_FRAME_BYTES, MIN_FRAME_BYTES, NS_PER_WIRE_BYTE, RX_BURST, frameWireNs } from './nic-constants';
import { hex } from './nic-watch';
import { countInRegister } from './nic-statistics';
import type { SimNic } from './nic';

/** Whether receive is possible at all now (Section 4.6.7: RXCTRL.RXEN, security path, bus mastering, queue 0). */
export function receiving(nic: SimNic): boolean {
  return nic.rxEnable && !nic.secRxDisabled && !nic.masterDisabled && nic.rxQueues[0].enabled;
}

export function receive(nic: SimNic, nowNs: number): boolean {
  if (!receiveFrames(nic, nowNs)) return false;
  publishRxHead(nic);
  return true;
}

/** Write queue 0's head to RDH (once per batch of received frames, not per frame). */
export function publishRxHead(nic: SimNic): void {
  const q = nic.rxQueues[0];
  const w = (q.base + R.RDH_OFF) >>> 2;
  // published, with the burst's descriptor write-backs (writeBackRx), by the poll's release (SimNic.release)
  if (q.enabled && nic.shadow[w] !== q.head) nic.hwPublish(w, q.head);
}

export function receiveFrames(nic: SimNic, nowNs: number): boolean {
  const input = nic.inputs;
  let busy = false;
  let floor = nic.lastPollNs;
  if (nic.rxBacklog) {
    floor = backlogFloor(nic);
    nic.rxBacklog = false;
  }
  if (nic.heldLength !== 0) {
    if (!deliver(nic, nic.heldLength, nowNs)) return false;
    busy = true;
  }
  if (input === null) return busy;
  nic.rxBursts++;
  const skipper = nic.skipInput;
  const q = nic.rxQueues[0];
  // Loop invariants (no register is looked at during the loop): the frame-independent parts of deliver()'s choices
  const isReceiving = receiving(nic);
  const accepting = nic.promiscuousUnicast && nic.promiscuousMulticast;
  const canSkip = skipper !== null && (!isReceiving || (accepting && q.dropEnable));
  let budget = RX_BURST;
  const direct = nic.directInput;
  if (direct !== null && isReceiving && accepting && directRxPossible(nic, nic.directMax)) {
    const engine = nic.rxEngine;
    if (engine !== null) {
      // the WebAssembly kernel (nic-rx-engine.ts) first; receiveDirect goes on from where it stopped
      nic.rxInputDry = false;
      const taken = engine.receive(nic, q, nowNs, budget, floor);
      if (taken !== 0) busy = true;
      if (engine.dropped !== 0) {
        countDropped(nic, engine.dropped);
        busy = true;
      }
      // the input ran dry, or the wire is busy until after now (the usual end of a burst): the paths below would
      // stop at once
      if (nic.rxInputDry || nic.rxWireFreeNs > nowNs) return busy;
      budget -= taken + engine.dropped;
    }
    const taken = receiveDirect(nic, q, direct, nowNs, budget, floor);
    if (taken !== 0) busy = true;
    // the input had nothing more due: the loop below would only ask again
    if (nic.rxInputDry) return busy;
    budget -= taken;
  }
  let dropped = 0;
  for (; budget > 0; budget--) {
    // 10 Gb/s line rate (IEEE 802.3; Section 1 of the data sheet: 10 GbE): the next frame can only start arriving
    // once the previous one has been serialised. ASSUMPTION: a frame is delivered at its start of arrival, no
    // earlier than the arrival floor (the previous poll, or backlogFloor: frames due between two polls arrive, back
    // to back, within that interval).
    if (nic.rxWireFreeNs > nowNs) break;
    // Dropped whatever the frame: receive off, or (promiscuous, DROP_EN) no free descriptor
    const drop = canSkip && (!isReceiving || q.tail === q.head);
    const length = drop ? skipper.skip(nowNs) : input.next(nic.rxInto, nowNs);
    if (length === 0) break;
    nic.rxWireFreeNs = arrivalEnd(nic.rxWireFreeNs > floor ? nic.rxWireFreeNs : floor, length);
    busy = true;
    if (drop) {
      dropped++;
    } else if (!deliver(nic, length, nowNs)) {
      break;
    }
  }
  if (dropped !== 0) countDropped(nic, dropped);
  // a whole burst taken, and the wire could have delivered more: those frames wait for the next poll
  if (budget === 0 && nic.rxWireFreeNs <= nowNs) {
    nic.rxBacklog = true;
    nic.rxBurstsBehind++;
  }
  return busy;
}

/**
 * The earliest time a frame can start arriving at this poll (the arrival floor), when the previous poll left
 * frames waiting; otherwise it is the previous poll's time (frames due since then arrive back to back within the
 * interval). Those frames (rxBacklog: it took RX_BURST, the most one poll takes, with the wire still free) arrived
 * at line rate behind the ones it took and wait in the receive packet buffer (Section 7.1: frames are stored in
 * the packet buffer, RXPBSIZE(0) bytes for queue 0's traffic class, until the DMA moves them): the wire time goes
 * on from where it was, at most as far back as the buffer holds. Without this a poll longer than RX_BURST frame times (4.3 us at 64 bytes) would lose wire time
 * for good, and an input offered at line rate would arrive below it.
 * INTERPRETATION: the buffer holds RXPBSIZE(0) bytes of wire time (10 Gb/s: 0.8 ns a byte, preamble and gap
 * included, so fewer frames than the hardware's); a backlog longer than that (a simulator thread descheduled for
 * 0.4 ms at the reset value of 512 KB) is delayed, where the hardware would drop the frames that do not fit and
 * count them in MPC.
 */
function backlogFloor(nic: SimNic): number {
  const bufferBytes = ((nic.regs[R.RXPBSIZE(0) >>> 2] >>> R.RXPBSIZE_SIZE_SHIFT) & R.RXPBSIZE_SIZE_MASK) * 1024;
  const earliest = nic.lastPollNs - bufferBytes * NS_PER_WIRE_BYTE;
  return nic.rxWireFreeNs > earliest ? nic.rxWireFreeNs : earliest;
}

/** A runt dropped: RUC and RLEC (Section 8.2.3.23). */
function countRunt(nic: SimNic): void {
  nic.stats.rxMissed++;
  nic.stats.rxUndersize++;
  countInRegister(nic, R.RUC, 1);
  countInRegister(nic, R.RLEC, 1);
}

/** When the wire is free again after a frame of `length` bytes (no FCS) that started arriving at `start` (ns). */
function arrivalEnd(start: number, length: number): number {
  return start + frameWireNs(length);
}

/**
 * The receive fast path (what deliver() does, for a burst, when directRxPossible holds: receive on, every frame
 * accepted, CRC stripped, every frame of the input fits one buffer): the input writes each frame straight into the
 * buffer of the next descriptor the NIC owns, which is then written back. Counters are added once per burst.
 * Stops, leaving the rest to the general path, at the first descriptor that needs a report (modified while owned,
 * buffer not DMA memory), when the ring is full, the wire busy, or the input has nothing due (nic.rxInputDry).
 * Returns the frames taken.
 */
export function receiveDirect(nic: SimNic, q: RxQueueState, input: DirectInput, nowNs: number, budget: number, floor: number): number {
  const ring = q.ring;
  const snap = q.snapshot;
  const size = q.size;
  const tail = q.tail;
  const memory = nic.memory;
  const max = nic.directMax;
  const advanced = q.advanced;
  let wireFree = nic.rxWireFreeNs;
  let head = q.head;
  // (read after any bufferAt miss too: latch() replaces these arrays only when the queue is enabled again)
  const slotAtPhys = q.slotAtPhys;
  const slotRoom = q.slotRoom;
  const slotAt = q.slotAt;
  const slotRegions = q.slotRegions;
  let frames = 0;
  let bytes = 0;
  let dry = false;
  while (frames < budget && head !== tail && wireFree <= nowNs) {
    const d = head * 4;
    const w0 = ring[d];
    const w1 = ring[d + 1];
    // RingState.unchanged and (below) writeBackRx, written out: calling them here measured 0.87x (one compare run)
    if (w0 !== snap[d] || w1 !== snap[d + 1] || ring[d + 2] !== snap[d + 2] || ring[d + 3] !== snap[d + 3]) break;
    const phys = w0 + w1 * 4294967296;
    // RingState.bufferAt's cache hit, inlined (a ring's buffers stay in place: the usual case)
    let at: number;
    let region: MemoryRegion;
    if (slotAtPhys[head] === phys && slotRoom[head] >= max) {
      at = slotAt[head];
      region = slotRegions[head];
    } else {
      at = q.bufferAt(head, phys, max, memory);
      if (at < 0) break;
      region = q.atRegion as MemoryRegion;
    }
    const length = input.nextAt(region.bytes, region.words, at, nowNs);
    if (length === 0) {
      dry = true;
      break;
    }
    wireFree = arrivalEnd(wireFree > floor ? wireFree : floor, length);
    if (length < MIN_FRAME_BYTES) {
      // a runt, as deliver() counts it: the descriptor stays the NIC's (what was written to its buffer is not handed over)
      countRunt(nic);
      continue;
    }
    // writeBackRx, inlined (see its ORDERING assumption): the status word (DD) last
    if (advanced) {
      ring[d] = 0;
      ring[d + 1] = 0;
      ring[d + 3] = length;
      ring[d + 2] = R.RX_ADV_W2_DD | R.RX_ADV_W2_EOP;
    } else {
      ring[d + 2] = length;
      ring[d + 3] = R.RX_LEGACY_W3_DD | R.RX_LEGACY_W3_EOP;
    }
    head = head + 1 === size ? 0 : head + 1;
    frames++;
    // Section 8.2.3.23.22: octets from the destination address to the CRC, inclusive
    bytes += length + FCS_BYTES;
  }
  q.head = head;
  nic.rxWireFreeNs = wireFree;
  nic.rxInputDry = dry;
  if (frames !== 0) {
    nic.stats.rxPackets += frames;
    nic.stats.rxBytes += bytes;
  }
  return frames;
}

/**
 * Count `n` frames dropped unread, as deliver() would have (the reason cannot have changed within one
 * receiveFrames call: no register is looked at meanwhile).
 */
export function countDropped(nic: SimNic, n: number): void {
  nic.stats.rxMissed += n;
  if (!receiving(nic)) {
    countInRegister(nic, R.MPC(0), n);
    return;
  }
  nic.stats.rxNoDescriptor += n;
  countInRegister(nic, R.QPRDC(0), n);
}

/**
 * Deliver the frame in the receive staging area to queue 0 (no RSS/VMDq/filters that steer: Section 7.1.2).
 * Returns false if the frame is held (no descriptor and no DROP_EN: it waits, and the input is not read further).
 */
export function deliver(nic: SimNic, length: number, nowNs: number): boolean {
  nic.heldLength = 0;
  if (!receiving(nic)) {
    nic.stats.rxMissed++;
    countMissed(nic);
    return true;
  }
  if (!accept(nic)) {
    nic.stats.rxMissed++;
    nic.stats.rxFiltered++;
    return true;
  }
  if (length < MIN_FRAME_BYTES) {
    // A runt (< 64 bytes with the FCS; wire frames exclude it): counted in RUC and dropped (Section 8.2.3.23, RUC;
    // IEEE 802.3 minimum frame size). Real transmitters pad (HLREG0.TXPADEN here; the TAP and pcap inputs too), so
    // runts only come from inputs that hand over short frames as they are (e.g. QueueInput in tests).
    countRunt(nic);
    return true;
  }
  if (length + FCS_BYTES > STANDARD_MAX_FRAME_WITH_FCS && length + FCS_BYTES > maxFrameBytes(nic)) {
    // Section 8.2.3.22.8 HLREG0.JUMBOEN / 8.2.3.22.13 MAXFRS: a frame longer than the maximum is dropped, counted in
    // ROC (Section 8.2.3.23.7: oversize with a good CRC) and RLEC (Section 8.2.3.23.5: a length error is an accepted
    // frame that is undersized or oversized; INTERPRETATION: counted in both). Never written to memory, never split.
    nic.stats.rxMissed++;
    nic.stats.rxOversize++;
    countInRegister(nic, R.ROC, 1);
    countInRegister(nic, R.RLEC, 1);
    return true;
  }
  const q = nic.rxQueues[0];
  // Section 8.2.3.8.8 / 8.2.3.22.8: without CRC stripping the FCS is written to memory after the frame
  let total = length;
  const strip = nic.crcStripMac;
  if (!strip) {
    appendFcs(nic.stagingBytes, nic.rxStagingOffset, length);
    total += FCS_BYTES;
  }
  const bufferBytes = q.bufferBytes;
  const needed = total <= bufferBytes ? 1 : Math.ceil(total / bufferBytes);
  if (q.owned < needed) {
    if (q.dropEnable) {
      // Section 8.2.3.8.7 SRRCTL.DROP_EN: dropped when no descriptor is available (QPRDC counts it)
      nic.stats.rxMissed++;
      nic.stats.rxNoDescriptor++;
      countInRegister(nic, R.QPRDC(0), 1);
      return true;
    }
    nic.heldLength = length;
    return false;
  }
  if (!nic.busMasterOk(nowNs, 'RX', q.index)) {
    nic.stats.rxMissed++;
    return true;
  }
  if (!q.dcaWarned && (nic.regs[(q.base + R.DCA_RXCTRL_OFF) >>> 2] & R.DCA_RXCTRL_BIT12) !== 0) {
    q.dcaWarned = true;
    nic.checker.warning(nowNs, 'dca-rxctrl-bit12', `DCA_RXCTRL(${q.index})`, 'bit 12 is still 1 while the queue receives');
  }
  const ring = q.ring;
  const memory = nic.memory;
  let done = 0;
  while (done < total) {
    const i = q.head;
    const d = i * 4;
    if (!q.unchanged(i)) nic.reportModified(q, 'RX', i, nowNs);
    const chunk = total - done < bufferBytes ? total - done : bufferBytes;
    const phys = ring[d] + ring[d + 1] * 4294967296;
    const r = phys === 0 ? -1 : memory.translate(phys, chunk);
    if (r < 0) {
      nic.stats.dmaErrors++;
      nic.checker.violation(nowNs, 'buffer-address-invalid', `RX ring ${q.index} descriptor ${i}`, `buffer address ${hex(phys)} (+${chunk} bytes) is not DMA memory; frame data lost`);
    } else {
      copyFromStaging(nic, memory.regions[r], memory.offset, nic.rxStagingOffset + done, chunk);
    }
    done += chunk;
    writeBackRx(q, d, chunk, done >= total);
    q.head = i + 1 === q.size ? 0 : i + 1;
  }
  nic.stats.rxPackets++;
  // Section 8.2.3.23.22: octets from the destination address to the CRC, inclusive
  nic.stats.rxBytes += length + FCS_BYTES;
  return true;
}

/**
 * Whether (with receive on and every frame accepted) deliver() would put any frame of the input whole into the
 * buffer of the next free descriptor of queue 0 with nothing to report: CRC stripped, the input's largest frame
 * fits a buffer, bus mastering on, no pending DCA_RXCTRL warning. Then the input writes the frame straight into that
 * buffer (receiveDirect), with no staging copy.
 */
export function directRxPossible(nic: SimNic, max: number): boolean {
  const q = nic.rxQueues[0];
  if (!nic.crcStripMac || max > q.bufferBytes || max + FCS_BYTES > maxFrameBytes(nic) || (nic.configWords[C.CFG_COMMAND >>> 2] & C.COMMAND_BUS_MASTER_ENABLE) === 0) return false;
  return q.dcaWarned || (nic.regs[(q.base + R.DCA_RXCTRL_OFF) >>> 2] & R.DCA_RXCTRL_BIT12) === 0;
}

export function countMissed(nic: SimNic): void {
  countInRegister(nic, R.MPC(0), 1);
}

/** Section 7.1.1.1 L2 filtering: promiscuous bits, broadcast (BAM/MPE), exact unicast match against RAL/RAH. */
export function accept(nic: SimNic): boolean {
  const b = nic.stagingBytes;
  const o = nic.rxStagingOffset;
  if ((b[o] & 1) !== 0) {
    const broadcast = (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
    // Multicast hash filtering (MTA) is not modelled: only MPE accepts multicast
    return broadcast ? nic.acceptBroadcast || nic.promiscuousMulticast : nic.promiscuousMulticast;
  }
  if (nic.promiscuousUnicast) return true;
  const da = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  const daHigh = b[o + 4] | (b[o + 5] << 8);
  const addresses = nic.unicastAddresses;
  for (let k = 0; k < addresses.length; k++) {
    if (addresses[k] === da + daHigh * 4294967296) return true;
  }
  return false;
}

export function copyFromStaging(nic: SimNic, region: MemoryRegion, offset: number, from: number, length: number): void {
  if (region.buffer === nic.stagingBuffer) {
    region.bytes.copyWithin(offset, from, from + length);
  } else {
    const src = nic.stagingBytes;
    const dst = region.bytes;
    for (let k = 0; k < length; k++) dst[offset + k] = src[from + k];
  }
}

/** Write back receive descriptor (word index d) after `chunk` bytes were written to its buffer. */
export function writeBackRx(q: RxQueueState, d: number, chunk: number, last: boolean): void {
  // Plain stores, in order: frame data (already written), then the descriptor, its status word (DD) last. The
  // release that publishes a burst is the poll's (SimNic.release, after the RDH store): one per poll
  // instead of one per frame. ASSUMPTION (ORDERING, as the driver's tail writes, docs/simulator.md "Memory order"):
  // on x86-64 (TSO) stores become visible in program order and V8 keeps typed-array stores in program order, so a
  // driver that sees DD (with an acquire load) sees the frame and the length written before it.
  const ring = q.ring;
  if (q.advanced) {
    // Section 7.1.6.2 advanced write-back: packet info, RSS hash (0), extended status with DD/EOP, length
    ring[d] = 0;
    ring[d + 1] = 0;
    ring[d + 3] = chunk;
    ring[d + 2] = last ? R.RX_ADV_W2_DD | R.RX_ADV_W2_EOP : R.RX_ADV_W2_DD;
  } else {
    // Section 7.1.5 legacy write-back: Q0 untouched; length, checksum 0; status DD/EOP, errors 0, VLAN 0
    ring[d + 2] = chunk;
    ring[d + 3] = last ? R.RX_LEGACY_W3_DD | R.RX_LEGACY_W3_EOP : R.RX_LEGACY_W3_DD;
  }
}


/**
 * The largest frame (bytes, with the FCS) the port receives: MAXFRS.MFS with HLREG0.JUMBOEN, else 1518 (Section
 * 8.2.3.22.8), and never more than the simulator's staging buffers hold. MAXFRS is read live (a storage register the
 * NIC does not watch: its value at the time of the frame is what counts).
 */
export function maxFrameBytes(nic: SimNic): number {
  if (!nic.jumbo) return STANDARD_MAX_FRAME_WITH_FCS;
  const mfs = nic.regs[R.MAXFRS >>> 2] >>> R.MAXFRS_MFS_SHIFT;
  return mfs < MAX_FRAME_BYTES ? mfs : MAX_FRAME_BYTES;
}
