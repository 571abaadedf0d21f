// One 82599 port: PCI checks, global reset and initialisation (Section 4.6.3 Initialization Sequence), promiscuous
// mode (Section 7.1.1.1 L2 Filtering), and queue setup (Section 4.6.7 Receive / Section 4.6.8 Transmit
// Initialization). This follows TinyNF's tn_net_device_init / set_promiscuous / set_input / add_output.
// Assumptions and the interpretation taxonomy are listed at the top of registers.ts.
import { Environment, PciAddress, TinyNfError, assertLittleEndianHost } from '../env/environment';
import { DeviceMemory, checkDeviceMemoryArchitecture } from '../env/device-memory';
import * as pci from './pci';
import * as R from './registers';

/** TinyNF's timeout for every poll of a hardware-owned bit. */
// INTERPRETATION-MISSING: the data sheet gives no timeouts at all (Section 4.6.3); 1 s is plenty for each.
export const POLL_TIMEOUT_US = 1_000_000;

export interface QueueHandle {
  /** The queue index on the device. */
  readonly queue: number;
  /** Byte offset of the queue's tail register (RDT/TDT) in BAR0. */
  readonly tailOffset: number;
}

export type ReceiveDescriptorType = 'legacy' | 'advanced';

export class Device {
  /** BAR0: the device's registers, reached only through whole aligned 32-bit accesses (device-memory.ts). */
  readonly bar0: DeviceMemory;
  private rxEnabled = false;
  private txEnabled = false;
  private inputTaken = false;

  private constructor(
    readonly env: Environment,
    readonly address: PciAddress,
    bar0: SharedArrayBuffer,
  ) {
    this.bar0 = new DeviceMemory(bar0, R.BAR0_REGISTERS_BYTES);
  }

  /** Full TinyNF initialisation of the port at `address`, then promiscuous mode. Throws TinyNfError on failure. */
  static init(env: Environment, address: PciAddress): Device {
    // Assumption LE (Section 1.5.3 Byte Ordering: registers are little-endian)
    assertLittleEndianHost();
    // Assumption ORDERING (registers.ts): refuse a CPU whose memory model it does not cover, before touching anything.
    checkDeviceMemoryArchitecture();
    checkPciFunction(env, address);
    const bar0 = env.mapBar0(address);
    if (bar0.byteLength < R.BAR0_REGISTERS_BYTES) {
      throw new TinyNfError(`${address}: BAR0 mapping is ${bar0.byteLength} bytes, expected at least 128 KiB`);
    }
    const device = new Device(env, address, bar0);
    device.resetAndConfigure();
    device.setPromiscuous();
    return device;
  }

  // ---------------- register access (init only; the fast paths keep their own views) ----------------

  read(reg: number): number {
    return this.bar0.read32(reg);
  }
  write(reg: number, value: number): void {
    this.bar0.write32(reg, value);
  }
  isFieldCleared(reg: number, field: number): boolean {
    return (this.read(reg) & field) === 0;
  }
  setField(reg: number, field: number): void {
    this.write(reg, this.read(reg) | field);
  }
  clearField(reg: number, field: number): void {
    this.write(reg, this.read(reg) & ~field);
  }
  /** Write `value` into `field` (a contiguous mask), keeping the register's other bits. */
  writeField(reg: number, field: number, value: number): void {
    const shift = 31 - Math.clz32(field & -field);
    this.write(reg, (this.read(reg) & ~field) | ((value << shift) & field));
  }

  /**
   * Poll until `done()` holds, sleeping between reads (which is also what lets a simulated NIC run).
   * Returns false on timeout, like TinyNF's IF_AFTER_TIMEOUT.
   */
  pollUntil(timeoutUs: number, done: () => boolean): boolean {
    let waited = 0;
    let step = 1;
    for (;;) {
      this.env.sleepUs(step);
      waited += step;
      if (done()) return true;
      if (waited >= timeoutUs) return false;
      step = Math.min(step * 2, timeoutUs / 10, timeoutUs - waited);
    }
  }

  /** pollUntil, throwing a one-line error naming what did not happen. */
  waitUntil(what: string, done: () => boolean, timeoutUs = POLL_TIMEOUT_US): void {
    if (!this.pollUntil(timeoutUs, done)) {
      throw new TinyNfError(`${this.address}: ${what} (waited ${timeoutUs / 1000} ms)`);
    }
  }

  /** The station MAC address (RAL(0)/RAH(0), loaded from the EEPROM at reset). */
  macAddress(): Uint8Array {
    const low = this.read(R.RAL(0));
    const high = this.read(R.RAH(0));
    return Uint8Array.of(low & 0xff, (low >>> 8) & 0xff, (low >>> 16) & 0xff, low >>> 24, high & 0xff, (high >>> 8) & 0xff);
  }

  // ---------------- Section 4.6.3 Initialization Sequence ----------------

  private resetAndConfigure(): void {
    // INTERPRETATION-POINTLESS: "Disable interrupts" before the reset (Section 4.6.3.1) is about re-entrancy,
    // which cannot happen without interrupts (assumption NOWANT); we mask them after the reset only.
    this.masterDisable();
    // Section 4.2.1.6.1 Software Reset: "writing to the Device Reset bit of the Device Control register (CTRL.RST)"
    this.setField(R.CTRL, R.CTRL_RST);
    // Section 8.2.3.1.1: "wait approximately 1 ms after setting before attempting to check if the bit has cleared
    // or to access (read or write) any other device register"
    this.env.sleepUs(1000);
    // ... and then check it: CTRL.RST self-clears when the reset is done (Section 8.2.3.1.1). Not waiting for it
    // would let a slow device (or a descheduled simulator thread) see our next writes while still in reset.
    this.waitUntil('CTRL.RST did not self-clear after a global reset', () => this.isFieldCleared(R.CTRL, R.CTRL_RST));
    // Section 4.6.3.2: "Following a Global Reset the Software driver should wait at least 10msec"
    this.env.sleepUs(10_000);
    // Section 4.6.3.1 Interrupts During Initialization: disable interrupts (again) after the reset.
    // Section 8.2.3.5.4: writing 1b to an EIMC bit masks that interrupt; bit 31 of EIMC(0) is reserved.
    this.write(R.EIMC(0), 0x7fffffff);
    for (let n = 1; n < R.INTERRUPT_REGISTERS_COUNT; n++) this.write(R.EIMC(n), 0xffffffff);

    // "FCRTH[n].RTH fields must be set by default regardless if flow control is enabled or not.
    //  Typically, FCRTH[n] default value should be equal to RXPBSIZE[n]-0x6000."
    // INTERPRETATION-CONTRADICTION: the granularity is given as both 16 and 32 bytes; we use 32 (Section 8.2.3.3.4).
    // INTERPRETATION-MISSING: RXPBSIZE[n]-0x6000 must be in bytes (512 KB default), or RTH would be negative.
    // INTERPRETATION-POINTLESS: FCTTV, FCRTL, FCRTV, FCCFG "should be written with 0x0": they reset to 0.
    this.writeField(R.FCRTH(0), R.FCRTH_RTH, (512 * 1024 - 0x6000) / 32);

    // "Wait for EEPROM auto read completion." (Section 8.2.3.2.1 EEC.AUTO_RD)
    this.waitUntil('EEPROM auto-read did not complete (EEC.AUTO_RD stayed 0)', () => !this.isFieldCleared(R.EEC, R.EEC_AUTO_RD));
    // INTERPRETATION-MISSING: AUTO_RD is also set when the EEPROM is absent or invalid, so we also check
    // EEC.EE_PRES ("present and has the correct signature") and FWSM.EXT_ERR_IND (0 = no error, valid checksum).
    if (this.isFieldCleared(R.EEC, R.EEC_EE_PRES)) {
      throw new TinyNfError(`${this.address}: EEPROM not present or invalid (EEC.EE_PRES is 0)`);
    }
    if (!this.isFieldCleared(R.FWSM, R.FWSM_EXT_ERR_IND)) {
      throw new TinyNfError(`${this.address}: EEPROM reported an error (FWSM.EXT_ERR_IND is not 0)`);
    }
    // "Wait for DMA initialization done (RDRXCTL.DMAIDONE)."
    this.waitUntil('DMA initialisation did not complete (RDRXCTL.DMAIDONE stayed 0)', () => !this.isFieldCleared(R.RDRXCTL, R.RDRXCTL_DMAIDONE));
    // INTERPRETATION-POINTLESS: PHY/link setup; AUTOC is programmed from the EEPROM (assumption TRUST).
    // Statistics need no initialisation (assumption NOCARE).
    this.initializeReceiveTables();
    this.initializeReceiveControl();
    this.initializeTransmitArbitration();
  }

  /** Section 5.2.5.3.2 Master Disable, required before a software reset by Section 4.2.1.6.1. */
  private masterDisable(): void {
    // "The device driver disables any reception to the Rx queues as described in Section 4.6.7.1"
    for (let queue = 0; queue < R.RECEIVE_QUEUES_COUNT; queue++) {
      // Section 4.6.7.1.2 Disabling: clear RXDCTL.ENABLE, then poll until the 82599 clears it.
      this.clearField(R.RXDCTL(queue), R.RXDCTL_ENABLE);
      this.waitUntil(
        `RXDCTL(${queue}).ENABLE did not clear; cannot disable receive before reset`,
        () => this.isFieldCleared(R.RXDCTL(queue), R.RXDCTL_ENABLE),
      );
      // "the driver should wait additional amount of time (~100 us) before releasing the memory"
      this.env.sleepUs(100);
    }
    // "Then the device driver sets the PCIe Master Disable bit"
    this.setField(R.CTRL, R.CTRL_MASTER_DISABLE);
    // "...then polls the PCIe Master Enable Status bit. [...] The driver might time out if the PCIe Master Enable
    //  Status bit is not cleared within a given time."
    // INTERPRETATION-MISSING: "a given time" is not given; 1 s.
    const disabled = this.pollUntil(POLL_TIMEOUT_US, () => this.isFieldCleared(R.STATUS, R.STATUS_PCIE_MASTER_ENABLE_STATUS));
    if (disabled) return;
    // "the driver should check that the Transaction Pending bit (bit 5) in the Device Status register in the PCI
    //  config space is clear before proceeding."
    if (!pci.pciIsFieldCleared(this.env, this.address, pci.PCI_DEVICE_STATUS_DWORD, pci.PCI_DEVICE_STATUS_TRANSACTION_PENDING)) {
      throw new TinyNfError(
        `${this.address}: master disable timed out (STATUS.PCIE_MASTER_ENABLE_STATUS stayed 1) and a PCI transaction is still pending`,
      );
    }
    // "the data path must be flushed before the software resets the 82599":
    // inhibit transmission (HLREG0.LPBK, clear RXCTRL.RXEN), set GCR_EXT.Buffers_Clear_Func for 20 us, clear both.
    this.setField(R.HLREG0, R.HLREG0_LPBK);
    this.clearField(R.RXCTRL, R.RXCTRL_RXEN);
    this.setField(R.GCR_EXT, R.GCR_EXT_BUFFERS_CLEAR_FUNC);
    this.env.sleepUs(20);
    this.clearField(R.HLREG0, R.HLREG0_LPBK);
    this.clearField(R.GCR_EXT, R.GCR_EXT_BUFFERS_CLEAR_FUNC);
    // INTERPRETATION-MISSING: "the driver might need to initiate two consecutive software resets with a larger
    // delay than 1 us between the two of them": we take "might" as "must"; this is the first one.
    this.setField(R.CTRL, R.CTRL_RST);
    this.env.sleepUs(2);
  }

  /** Section 4.6.7 Receive Initialization: "Initialize the following register tables before receive and transmit is enabled" */
  private initializeReceiveTables(): void {
    // INTERPRETATION-POINTLESS: RAL/RAH(0) are loaded from the (checked) EEPROM, RAH(n>0).AV resets to 0.
    // Section 8.2.3.27.17: PFUTA "should be zeroed by software before start of operation."
    for (let n = 0; n < R.UNICAST_TABLE_ARRAY_SIZE / 32; n++) this.write(R.PFUTA(n), 0);
    // INTERPRETATION-POINTLESS: VFTA only matters with VLNCTRL.VFE set, which resets to 0.
    // INTERPRETATION-MISSING: PFVLVF/PFVLVFB seem to matter only with VLAN filtering; we clear them anyway
    // (Section 8.2.3.27.15: "Software should initialize these registers before transmit and receive are enabled").
    for (let n = 0; n < R.POOLS_COUNT; n++) this.write(R.PFVLVF(n), 0);
    // Section 8.2.3.7.10 MPSAR: registers 2n/2n+1 map address n to pools.
    // INTERPRETATION-MISSING: we enable pool 0 for address 0 and nothing else, having a single address.
    this.write(R.MPSAR(0), 1);
    for (let n = 1; n < R.RECEIVE_ADDRS_COUNT * 2; n++) this.write(R.MPSAR(n), 0);
    for (let n = 0; n < R.POOLS_COUNT * 2; n++) this.write(R.PFVLVFB(n), 0);
    // Section 8.2.3.7.7 MTA: "This entire table should be zeroed"
    for (let n = 0; n < R.MULTICAST_TABLE_ARRAY_SIZE / 32; n++) this.write(R.MTA(n), 0);
    // INTERPRETATION-POINTLESS: flexible filters (FHFT) only act if WUFC.FLX* are set, which reset to 0.
    // Section 8.2.3.7.19 FTQF: default unspecified; clear Queue Enable of every 5-tuple filter (assumption NOWANT).
    for (let n = 0; n < R.FIVETUPLE_FILTERS_COUNT; n++) this.clearField(R.FTQF(n), R.FTQF_QUEUE_ENABLE);
  }

  private initializeReceiveControl(): void {
    // Section 8.2.3.8.8 RDRXCTL: CRCStrip (assumption CRC; must equal HLREG0.RXCRCSTRP, which resets to 1),
    // "RDRXCTL.RSCFRSTSIZE should be set to 0x0 as opposed to its hardware default".
    this.setField(R.RDRXCTL, R.RDRXCTL_CRC_STRIP);
    this.clearField(R.RDRXCTL, R.RDRXCTL_RSCFRSTSIZE);
    // INTERPRETATION-MISSING: the setup steps forget RSCACKC and FCOE_WRFIX, which "Software should set" to 1b.
    this.setField(R.RDRXCTL, R.RDRXCTL_RSCACKC);
    this.setField(R.RDRXCTL, R.RDRXCTL_FCOE_WRFIX);
    // Section 4.6.11.3.4 DCB-Off, VT-Off: "RXPBSIZE[0].SIZE=0x200, RXPBSIZE[1-7].SIZE=0x0"
    // INTERPRETATION-CONTRADICTION: PB[1-7] are "meaningless in non-DCB mode" yet to be cleared; we clear them.
    for (let n = 1; n < R.TRAFFIC_CLASSES_COUNT; n++) this.write(R.RXPBSIZE(n), 0);
    // "Enable receive legacy flow control via: MFLCN.RFCE=1b" and "FCCFG.TFCE=01b"
    this.setField(R.MFLCN, R.MFLCN_RFCE);
    this.writeField(R.FCCFG, R.FCCFG_TFCE, 1);
    // "Reset all arbiters: Clear RTTDT1C register, per each queue, via setting RTTDQSEL first"
    for (let n = 0; n < R.TRANSMIT_QUEUES_COUNT; n++) {
      this.write(R.RTTDQSEL, n);
      this.write(R.RTTDT1C, 0);
    }
    // INTERPRETATION-POINTLESS: RTTDT2C, RTTPT2C, RTRPT4C, RTTDCS/RTTPCS/RTRPCS fields already have the values asked.
  }

  /** Section 4.6.8 Transmit Initialization, with Section 4.6.11.3.4 DCB-Off, VT-Off values. */
  private initializeTransmitArbitration(): void {
    // HLREG0 defaults are what we want (assumptions CRC, TXPAD); DMATXCTL/DTXTCPFLG*/DCA need no change (NOWANT).
    // "Set RTTDCS.ARBDIS to 1b."
    this.setField(R.RTTDCS, R.RTTDCS_ARBDIS);
    // "TXPBSIZE[0].SIZE=0xA0, TXPBSIZE[1-7].SIZE=0x0"
    // INTERPRETATION-CONTRADICTION: again both "meaningless" and to be cleared; we clear them.
    for (let n = 1; n < R.TRAFFIC_CLASSES_COUNT; n++) this.write(R.TXPBSIZE(n), 0);
    // "TXPBTHRESH.THRESH[0]=0xA0 - Maximum expected Tx packet length in this TC"
    // INTERPRETATION-TYPO: Section 8.2.3.9.16 says "0x96 for TXPBSIZE0" but means TXPBTHRESH0.
    // The threshold is in KB: 0xA0 minus our 2 KB packet buffers.
    this.writeField(R.TXPBTHRESH(0), R.TXPBTHRESH_THRESH, 0xa0 - 2);
    // INTERPRETATION-POINTLESS: MTQC's RT_Ena, VT_Ena, NUM_TC_OR_Q already reset to the values asked.
    // "DTXMXSZRQ - set Max_byte_num_req = 0xFFF = 1 MB"
    this.writeField(R.DTXMXSZRQ, R.DTXMXSZRQ_MAX_BYTES_NUM_REQ, 0xfff);
    // INTERPRETATION-MISSING: MNGTXMAP is for manageability, which we ignore.
    // "Clear RTTDCS.ARBDIS to 0b"
    this.clearField(R.RTTDCS, R.RTTDCS_ARBDIS);
    // Enabling interrupts afterwards (Section 4.6.3.1) is not wanted (assumption NOWANT).
  }

  // ---------------- Section 7.1.1.1 L2 Filtering ----------------

  /** Accept every frame (assumption PROMISC). */
  setPromiscuous(): void {
    // Section 8.2.3.7.1: "Before receive filters are updated/modified the RXCTRL.RXEN bit should be set to 0b.
    // After the proper filters have been set the RXCTRL.RXEN bit can be set to 1b to re-enable the receiver."
    const wasRxEnabled = !this.isFieldCleared(R.RXCTRL, R.RXCTRL_RXEN);
    if (wasRxEnabled) this.clearField(R.RXCTRL, R.RXCTRL_RXEN);
    // "Promiscuous unicast filtering is enabled (FCTRL.UPE=1b)"
    this.setField(R.FCTRL, R.FCTRL_UPE);
    // "Promiscuous multicast filtering is enabled [...] (FCTRL.MPE=1b)"; broadcast passes with MPE too.
    // INTERPRETATION-MISSING: then BAM is not needed; we leave it alone.
    this.setField(R.FCTRL, R.FCTRL_MPE);
    if (wasRxEnabled) this.setField(R.RXCTRL, R.RXCTRL_RXEN);
  }

  // ---------------- Section 4.6.7 Receive Initialization (one queue, assumption ONEQUEUE) ----------------

  /**
   * Program receive queue 0 over the descriptor ring at physical address `ringPhys` (`ringSize` descriptors whose
   * buffers are `bufferBytes` long), enable it, give all but one descriptor to the NIC and enable receive.
   * The descriptors' buffer addresses must already be in the ring (assumption: buffers exist before RX starts).
   */
  setInput(ringPhys: number, ringSize: number, bufferBytes: number, descriptorType: ReceiveDescriptorType): QueueHandle {
    const queue = 0;
    if (this.inputTaken || !this.isFieldCleared(R.RXDCTL(queue), R.RXDCTL_ENABLE)) {
      throw new TinyNfError(`${this.address}: receive queue ${queue} is already in use (one agent per input port)`);
    }
    checkRing(this.address, ringPhys, ringSize);
    if (bufferBytes % 1024 !== 0 || bufferBytes < 1024 || bufferBytes > 16 * 1024) {
      throw new TinyNfError(`${this.address}: receive buffers must be 1..16 KiB in 1 KiB steps (SRRCTL.BSIZEPACKET), got ${bufferBytes}`);
    }
    // "Program the descriptor base address with the address of the region (registers RDBAL, RDBAL)."
    // INTERPRETATION-TYPO: the second RDBAL is RDBAH. Section 8.2.3.8.1: 128-byte aligned (checked above).
    this.write(R.RDBAH(queue), Math.floor(ringPhys / 2 ** 32));
    this.write(R.RDBAL(queue), ringPhys >>> 0);
    // "Set the length register to the size of the descriptor ring (register RDLEN)." (bytes)
    this.write(R.RDLEN(queue), ringSize * R.DESCRIPTOR_BYTES);
    // "Program SRRCTL associated with this queue according to the size of the buffers": BSIZEPACKET in KB,
    // DESCTYPE (000b legacy, 001b advanced one buffer), Drop_En (assumption DROP).
    this.writeField(R.SRRCTL(queue), R.SRRCTL_BSIZEPACKET, bufferBytes / 1024);
    this.writeField(
      R.SRRCTL(queue),
      R.SRRCTL_DESCTYPE,
      descriptorType === 'legacy' ? R.SRRCTL_DESCTYPE_LEGACY : R.SRRCTL_DESCTYPE_ADVANCED_ONE_BUFFER,
    );
    this.setField(R.SRRCTL(queue), R.SRRCTL_DROP_EN);
    // No header split (Section 7.1.10: "might cause unpredictable behavior"), no RSC (assumption NOCARE).
    // "Program RXDCTL with appropriate values including the queue Enable bit."
    this.setField(R.RXDCTL(queue), R.RXDCTL_ENABLE);
    // "Poll the RXDCTL register until the Enable bit is set. The tail should not be bumped before this bit was read as 1b."
    this.waitUntil(`RXDCTL(${queue}).ENABLE did not set; cannot enable the receive queue`, () => !this.isFieldCleared(R.RXDCTL(queue), R.RXDCTL_ENABLE));
    // "Bump the tail pointer (RDT) to enable descriptors fetching by setting it to the ring length minus one."
    this.write(R.RDT(queue), ringSize - 1);
    // "Enable the receive path by setting RXCTRL.RXEN. This should be done only after all other settings are done"
    // INTERPRETATION-MISSING: we take "all other settings" to mean this queue's.
    if (!this.rxEnabled) {
      // "Halt the receive data path by setting SECRXCTRL.RX_DIS bit."
      this.setField(R.SECRXCTRL, R.SECRXCTRL_RX_DIS);
      // "Wait for the data paths to be emptied by HW. Poll the SECRXSTAT.SECRX_RDY bit until it is asserted by HW."
      this.waitUntil('SECRXSTAT.SECRX_RDY did not set; cannot start receive', () => !this.isFieldCleared(R.SECRXSTAT, R.SECRXSTAT_SECRX_RDY));
      this.setField(R.RXCTRL, R.RXCTRL_RXEN);
      // "Clear the SECRXCTRL.SECRX_DIS bits to enable receive data path" (INTERPRETATION-TYPO: RX_DIS)
      this.clearField(R.SECRXCTRL, R.SECRXCTRL_RX_DIS);
      // "Set bit 16 of the CTRL_EXT register and clear bit 12 of the DCA_RXCTRL[n] register[n]."
      this.setField(R.CTRL_EXT, R.CTRL_EXT_NS_DIS);
      this.rxEnabled = true;
    }
    // Section 8.2.3.11.1: DCA_RXCTRL bit 12 "Default 1b; Reserved. Must be set to 0."
    this.clearField(R.DCA_RXCTRL(queue), R.DCA_RXCTRL_UNKNOWN_BIT12);
    this.inputTaken = true;
    return { queue, tailOffset: R.RDT(queue) };
  }

  // ---------------- Section 4.6.8 Transmit Initialization ----------------

  /**
   * Program and enable the first free transmit queue over the ring at `ringPhys`. With `headPhys` (16-byte aligned)
   * the NIC writes its head there instead of writing descriptors back (Section 7.2.3.5.2); with null it writes DD
   * back into descriptors with RS set.
   */
  addOutput(ringPhys: number, ringSize: number, headPhys: number | null): QueueHandle {
    let queue = 0;
    while (queue < R.TRANSMIT_QUEUES_COUNT && !this.isFieldCleared(R.TXDCTL(queue), R.TXDCTL_ENABLE)) queue++;
    if (queue === R.TRANSMIT_QUEUES_COUNT) {
      throw new TinyNfError(`${this.address}: no free transmit queue (all ${R.TRANSMIT_QUEUES_COUNT} are enabled)`);
    }
    checkRing(this.address, ringPhys, ringSize);
    // "Program the descriptor base address with the address of the region (TDBAL, TDBAH)." (128-byte aligned)
    this.write(R.TDBAH(queue), Math.floor(ringPhys / 2 ** 32));
    this.write(R.TDBAL(queue), ringPhys >>> 0);
    // "Set the length register to the size of the descriptor ring (TDLEN)."
    this.write(R.TDLEN(queue), ringSize * R.DESCRIPTOR_BYTES);
    // "Program the TXDCTL register with the desired TX descriptor write back policy"
    // INTERPRETATION-MISSING: the recommended values (Section 7.2.3.4.1) are vague; HTHRESH = cache line / descriptor
    // = 4 (assumption CACHE), PTHRESH = 60 as TinyNF (needed for line rate on real hardware).
    this.writeField(R.TXDCTL(queue), R.TXDCTL_PTHRESH, 60);
    this.writeField(R.TXDCTL(queue), R.TXDCTL_HTHRESH, 4);
    // "If needed, set TDWBAL/TWDBAH to enable head write back."
    if (headPhys !== null) {
      // INTERPRETATION-CONTRADICTION: Section 7.2.3.5.2 says dword alignment, Section 8.2.3.9.11 qword.
      // INTERPRETATION-INCORRECT: empirically the head write-back only works 16-byte aligned.
      if (headPhys % 16 !== 0) {
        throw new TinyNfError(`${this.address}: transmit head write-back address 0x${headPhys.toString(16)} is not 16-byte aligned`);
      }
      this.write(R.TDWBAH(queue), Math.floor(headPhys / 2 ** 32));
      this.write(R.TDWBAL(queue), (headPhys >>> 0) | R.TDWBAL_HEAD_WB_EN);
    } else {
      this.write(R.TDWBAH(queue), 0);
      this.write(R.TDWBAL(queue), 0);
    }
    // INTERPRETATION-MISSING: relaxed ordering of write-backs could make the head appear to move backwards; disable it.
    this.clearField(R.DCA_TXCTRL(queue), R.DCA_TXCTRL_TX_DESC_WB_RO_EN);
    // "Enable transmit path by setting DMATXCTL.TE. This step should be executed only for the first enabled transmit queue"
    if (!this.txEnabled) {
      this.setField(R.DMATXCTL, R.DMATXCTL_TE);
      this.txEnabled = true;
    }
    // "Enable the queue using TXDCTL.ENABLE. Poll the TXDCTL register until the Enable bit is set."
    this.setField(R.TXDCTL(queue), R.TXDCTL_ENABLE);
    this.waitUntil(`TXDCTL(${queue}).ENABLE did not set; cannot enable the transmit queue`, () => !this.isFieldCleared(R.TXDCTL(queue), R.TXDCTL_ENABLE));
    // "The tail register of the queue (TDT) should not be bumped until the queue is enabled." Nothing to send yet.
    return { queue, tailOffset: R.TDT(queue) };
  }
}

/** PCI checks of tn_net_device_init: exact id, power state D0; then bus master + memory on, INTx off. */
function checkPciFunction(env: Environment, address: PciAddress): void {
  const id = env.pciRead32(address, pci.PCI_ID) >>> 0;
  if (id !== pci.PCI_ID_82599ES_SFP) {
    const vendor = (id & 0xffff).toString(16).padStart(4, '0');
    const device = (id >>> 16).toString(16).padStart(4, '0');
    throw new TinyNfError(`${address}: PCI device ${vendor}:${device} is not an Intel 82599ES (8086:10fb)`);
  }
  // Section 9.3.7.1.4 PMCSR: "No_Soft_Reset [...] always set to 0b": going from D3 to D0 resets the function and
  // would lose the BARs (assumption PCIBARS), so we require D0.
  if (!pci.pciIsFieldCleared(env, address, pci.PCI_PMCSR, pci.PCI_PMCSR_POWER_STATE)) {
    const state = env.pciRead32(address, pci.PCI_PMCSR) & pci.PCI_PMCSR_POWER_STATE;
    throw new TinyNfError(`${address}: PCI device is in power state D${state}, not D0 (PMCSR.PowerState)`);
  }
  // The bus master may not be enabled, nor memory access; and we want no (legacy) interrupts (assumption NOWANT).
  pci.pciSetCommandBit(env, address, pci.PCI_COMMAND_BUS_MASTER_ENABLE);
  pci.pciSetCommandBit(env, address, pci.PCI_COMMAND_MEMORY_ACCESS_ENABLE);
  pci.pciSetCommandBit(env, address, pci.PCI_COMMAND_INTERRUPT_DISABLE);
}

/** Section 7.1.9 / 7.2.3.3: ring base 128-byte aligned, length a multiple of 128 bytes, at most 8K descriptors. */
function checkRing(address: PciAddress, ringPhys: number, ringSize: number): void {
  if (ringPhys % 128 !== 0) {
    throw new TinyNfError(`${address}: descriptor ring address 0x${ringPhys.toString(16)} is not 128-byte aligned`);
  }
  if (!Number.isInteger(ringSize) || ringSize < 8 || ringSize > 8192 || (ringSize * R.DESCRIPTOR_BYTES) % 128 !== 0) {
    throw new TinyNfError(`${address}: descriptor ring of ${ringSize} entries invalid (multiple of 8, at most 8192)`);
  }
}
