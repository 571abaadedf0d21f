// PCI configuration space registers of the 82599 the driver touches (Section 9.3 of the data sheet).
// The environment gives aligned 32-bit access only; 16-bit registers are read inside their dword.
import { Environment, PciAddress } from '../env/environment';
import { bit, bits } from './registers';

// Section 9.3.3.1 Vendor ID Register / Section 9.3.3.2 Device ID Register (vendor low half, device high half)
// INTERPRETATION-INCORRECT: Section 9.3.3.2 gives 0x10D8 as the default; the 82599ES SFP+ card reports 0x10FB.
export const PCI_ID = 0x00;
export const PCI_ID_82599ES_SFP = ((0x10fb << 16) | 0x8086) >>> 0;

// Section 9.3.3.3 Command Register (16 bit; the dword's high half is Section 9.3.3.4 Status Register)
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_MEMORY_ACCESS_ENABLE = bit(1);
export const PCI_COMMAND_BUS_MASTER_ENABLE = bit(2);
export const PCI_COMMAND_INTERRUPT_DISABLE = bit(10);
/** The Command register is the low half of its dword; the Status register's bits are write-1-to-clear. */
const PCI_COMMAND_MASK = bits(0, 15);

// Section 9.3.6.1 Memory and IO Base Address Registers (BAR0 is 64-bit: low dword, then high dword)
export const PCI_BAR0_LOW = 0x10;
export const PCI_BAR0_HIGH = 0x14;

// Section 9.3.7.1.4 Power Management Control / Status Register (16 bit at 0x44)
export const PCI_PMCSR = 0x44;
export const PCI_PMCSR_POWER_STATE = bits(0, 1);

// Section 9.3.10.6 Device Status Register (16 bit at 0xAA, i.e. the high half of the dword at 0xA8)
export const PCI_DEVICE_STATUS_DWORD = 0xa8;
export const PCI_DEVICE_STATUS_TRANSACTION_PENDING = bit(16 + 5);

export function pciIsFieldCleared(env: Environment, address: PciAddress, offset: number, field: number): boolean {
  return (env.pciRead32(address, offset) & field) === 0;
}

/** Set a bit of the Command register without writing back the (write-1-to-clear) Status bits next to it. */
export function pciSetCommandBit(env: Environment, address: PciAddress, field: number): void {
  const command = env.pciRead32(address, PCI_COMMAND) & PCI_COMMAND_MASK;
  env.pciWrite32(address, PCI_COMMAND, (command | field) >>> 0);
}
