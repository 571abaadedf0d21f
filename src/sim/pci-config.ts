// PCI configuration space of one 82599 function (Section 9.3), as 4096 bytes in a SharedArrayBuffer (so a
// standalone NIC can expose it as a file). Only the Command register is writable; everything else is read-only.

// Section 9.3.3.1/9.3.3.2 Vendor ID / Device ID (82599ES SFI/SFP+: 0x10FB, whatever Section 9.3.3.2's default says)
export const PCI_VENDOR_ID = 0x8086;
export const PCI_DEVICE_ID = 0x10fb;
export const CFG_ID = 0x00;
// Section 9.3.3.3 Command Register (low half) / Section 9.3.3.4 Status Register (high half)
export const CFG_COMMAND = 0x04;
export const COMMAND_MEMORY_ACCESS_ENABLE = 1 << 1;
export const COMMAND_BUS_MASTER_ENABLE = 1 << 2;
export const COMMAND_INTERRUPT_DISABLE = 1 << 10;
/** The writable bits of the Command register (the Status bits are read-only / write-1-to-clear and always 0 here). */
export const COMMAND_WRITABLE = COMMAND_MEMORY_ACCESS_ENABLE | COMMAND_BUS_MASTER_ENABLE | COMMAND_INTERRUPT_DISABLE;
/** Status bit 4: capabilities list present. */
const STATUS_CAPABILITIES_LIST = 1 << 4;
// Section 9.3.3.5 Revision ID (7:0) / Class Code (31:8): 0x020000 = Ethernet controller
export const CFG_CLASS = 0x08;
// Section 9.3.6.1 Base Address Registers: BAR0 is 64-bit memory (bits 2:1 = 10b), not prefetchable (GUESS, U9)
export const CFG_BAR0_LOW = 0x10;
export const CFG_BAR0_HIGH = 0x14;
const BAR_TYPE_64BIT = 0b100;
// Section 9.3.3.12 Capabilities pointer
const CFG_CAPABILITIES_POINTER = 0x34;
// Section 9.3.7.1 PCI Power Management capability at 0x40; PMCSR (Section 9.3.7.1.4) at 0x44, PowerState 1:0 = D0
export const CFG_PM_CAPABILITY = 0x40;
export const CFG_PMCSR = 0x44;
// Section 9.3.10 PCIe capability at 0xA0; Device Status (Section 9.3.10.6) at 0xAA, bit 5 Transaction Pending = 0
export const CFG_PCIE_CAPABILITY = 0xa0;
export const CFG_DEVICE_CONTROL_STATUS = 0xa8;

export const CONFIG_BYTES = 4096;

/** Fill a fresh config space. `function` is the PCI function number (port), `bar0` the BAR0 bus address. */
export function initConfigSpace(config: SharedArrayBuffer, bar0: number): void {
  const words = new Uint32Array(config, 0, CONFIG_BYTES / 4);
  words.fill(0);
  words[CFG_ID / 4] = ((PCI_DEVICE_ID << 16) | PCI_VENDOR_ID) >>> 0;
  // Memory access enabled by the firmware/OS (bus mastering is the driver's job, as on a real host)
  words[CFG_COMMAND / 4] = ((STATUS_CAPABILITIES_LIST << 16) | COMMAND_MEMORY_ACCESS_ENABLE) >>> 0;
  words[CFG_CLASS / 4] = (0x02 << 24) | (0x00 << 16) | (0x00 << 8) | 0x01; // class 02 subclass 00 prog-if 00, rev 1
  words[CFG_BAR0_LOW / 4] = ((bar0 >>> 0) & 0xfffffff0) | BAR_TYPE_64BIT;
  words[CFG_BAR0_HIGH / 4] = Math.floor(bar0 / 2 ** 32) >>> 0;
  words[CFG_CAPABILITIES_POINTER / 4] = CFG_PM_CAPABILITY;
  // PM capability: ID 0x01, next = PCIe capability, PMC version 3; PMCSR = D0
  words[CFG_PM_CAPABILITY / 4] = (0x0003 << 16) | (CFG_PCIE_CAPABILITY << 8) | 0x01;
  words[CFG_PMCSR / 4] = 0;
  // PCIe capability: ID 0x10, next 0, version 2, endpoint
  words[CFG_PCIE_CAPABILITY / 4] = (0x0002 << 16) | 0x10;
  words[CFG_DEVICE_CONTROL_STATUS / 4] = 0;
}

export function configRead32(config: Uint32Array, offset: number): number {
  return Atomics.load(config, offset >>> 2) >>> 0;
}

/** Writes reach only the Command register's writable bits; the rest of config space is read-only here. */
export function configWrite32(config: Uint32Array, offset: number, value: number): void {
  if (offset !== CFG_COMMAND) return;
  const old = Atomics.load(config, CFG_COMMAND / 4);
  Atomics.store(config, CFG_COMMAND / 4, ((old & ~COMMAND_WRITABLE) | (value & COMMAND_WRITABLE)) >>> 0);
}
