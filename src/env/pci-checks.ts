// Checks shared by every environment before BAR0 is mapped: right device, right kind of BAR.
import { PCI_DEVICE_82599ES_SFP, PCI_VENDOR_INTEL, PciAddress, TinyNfError } from './environment';

// PCI Local Bus Specification 3.0, Section 6.2.5.1 (Base Address Registers):
// bit 0 = 0 memory space; bits 2:1 = 10b 64-bit; 82599 data sheet Section 9.3.6.1, Table 9-4.
export const PCI_CONFIG_ID = 0x00; // Device ID (31:16) | Vendor ID (15:0), DS 9.3.3.1/9.3.3.2
export const PCI_CONFIG_BAR0_LOW = 0x10; // DS 9.3.6.1
export const PCI_CONFIG_BAR0_HIGH = 0x14;
const BAR_IO_SPACE = 1 << 0;
const BAR_TYPE_MASK = 0b110;
const BAR_TYPE_64BIT = 0b100;

/** Throw a one-line error unless `address` is an 82599ES (0x8086:0x10FB) with a 64-bit memory BAR0. */
export function checkDeviceAndBar0(address: PciAddress, read32: (offset: number) => number): void {
  const id = read32(PCI_CONFIG_ID) >>> 0;
  const vendor = id & 0xffff;
  const device = id >>> 16;
  if (vendor !== PCI_VENDOR_INTEL || device !== PCI_DEVICE_82599ES_SFP) {
    throw new TinyNfError(
      `device ${address} is ${hex4(vendor)}:${hex4(device)}, not an Intel 82599ES (8086:10fb); tinynf drives only that NIC`,
    );
  }
  const bar0 = read32(PCI_CONFIG_BAR0_LOW) >>> 0;
  if ((bar0 & BAR_IO_SPACE) !== 0 || (bar0 & BAR_TYPE_MASK) !== BAR_TYPE_64BIT) {
    throw new TinyNfError(`device ${address} BAR0 (0x${bar0.toString(16)}) is not a 64-bit memory BAR`);
  }
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}
