// The conformance checker's vocabulary: every way a driver can break the data sheet that the simulated 82599
// detects, with the section that states the rule. A violation is recorded on the NIC (nic.violations); rules that
// real hardware tolerates and well-known drivers break (ixy) are warnings (nic.warnings), never violations.
import { TinyNfError } from '../env/environment';

export interface Violation {
  /** The NIC's PCI address. */
  nic: string;
  /** Simulated (inline) or real (worker) time at which the NIC observed it. */
  timeNs: number;
  /** A rule name from RULES. */
  rule: string;
  /** The register or descriptor involved, e.g. "RDT(0)" or "TX ring 0 descriptor 17". */
  where: string;
  /** Data-sheet section. */
  section: string;
  detail: string;
}

/** The rules: name -> [data-sheet section, one-line statement]. */
export const RULES = {
  'memory-access-disabled': ['9.3.3.3', 'BAR0 registers written while PCI Command.Memory Access Enable is 0'],
  'bus-master-disabled': ['9.3.3.3 / 5.2.5.3.2', 'the NIC had DMA to do while PCI Command.Bus Master Enable is 0'],
  'write-during-reset': ['8.2.3.1.1', 'a register written within ~1 ms after CTRL.RST (the device is resetting)'],
  'queue-enabled-without-ring': ['4.6.7.1 / 4.6.8', 'queue enabled before its ring base address and length were programmed'],
  'ring-misaligned': ['7.1.9 / 8.2.3.8.1 / 8.2.3.9.5', 'descriptor ring base address not 128-byte aligned'],
  'ring-length': ['8.2.3.8.3 / 8.2.3.9.7', 'descriptor ring length not a non-zero multiple of 128 bytes'],
  'ring-outside-dma': ['7.1.9 / 7.2.3.3', 'descriptor ring not inside DMA memory'],
  'ring-registers-while-enabled': ['4.6.7.1 / 4.6.8', 'ring base/length/SRRCTL/head write-back registers written while the queue is enabled'],
  'rx-tail-before-enable': ['4.6.7.1', 'RDT written (non-zero) before the queue was enabled (RXDCTL.ENABLE read back as 1)'],
  'tx-tail-before-enable': ['4.6.8', 'TDT written before the queue was enabled (TXDCTL.ENABLE read back as 1)'],
  'tx-enable-before-te': ['4.6.8', 'TXDCTL.ENABLE set while DMATXCTL.TE is 0'],
  'head-writeback-misaligned': ['7.2.3.5.2 / 8.2.3.9.11', 'head write-back address not 16-byte aligned (the hardware ignores it)'],
  'head-writeback-outside-dma': ['7.2.3.5.2', 'head write-back address not inside DMA memory'],
  'rx-tail-out-of-ring': ['8.2.3.8.5', 'RDT beyond the end of the ring'],
  'rx-tail-backwards': ['7.1.9 / 8.2.3.8.5', 'RDT moved backwards or onto/past RDH (takes back descriptors the NIC owns)'],
  'tx-tail-out-of-ring': ['8.2.3.9.9', 'TDT beyond the end of the ring'],
  'tx-tail-backwards': ['7.2.3.3 / 8.2.3.9.9', 'TDT moved backwards or onto/past TDH (takes back descriptors the NIC owns)'],
  'descriptor-modified-while-owned': ['7.1.9 / 7.2.3.3', 'software modified a descriptor the NIC owned (between head and tail)'],
  'buffer-address-invalid': ['7.1.5 / 7.2.3.2', 'descriptor buffer address is 0 or outside any DMA memory'],
  'crc-strip-mismatch': ['4.6.7 / 8.2.3.8.8', 'RDRXCTL.CRCStrip differs from HLREG0.RXCRCSTRP while receive is enabled'],
  'tail-and-enable-same-poll': ['4.6.7.1 / 4.6.8', 'tail written in the same poll interval as ENABLE: it cannot have been read back as 1'],
} as const;

export type RuleName = keyof typeof RULES;

/** Warnings: data-sheet recommendations that the hardware tolerates. */
export const WARNINGS = {
  'reset-without-master-disable': ['4.2.1.6.1 / 5.2.5.3.2', 'CTRL.RST written without a completed master disable first'],
  'rx-enable-without-secrx-halt': ['4.6.7', 'RXCTRL.RXEN set without halting the security RX path (SECRXCTRL.RX_DIS)'],
  'filter-changed-while-receiving': ['8.2.3.7.1', 'FCTRL changed while RXCTRL.RXEN is 1'],
  'fcrth-not-set': ['4.6.3.1 / 8.2.3.3.4', 'receive enabled with FCRTH[0].RTH = 0'],
  'dca-rxctrl-bit12': ['8.2.3.11.1', 'receive queue enabled with DCA_RXCTRL bit 12 still 1 (must be set to 0)'],
  'head-written-while-enabled': ['8.2.3.8.4 / 8.2.3.9.8', 'RDH/TDH written while the queue is enabled'],
  'rscfrstsize-not-cleared': ['8.2.3.8.8', 'receive enabled with RDRXCTL.RSCFRSTSIZE not 0'],
  'reset-pulse-missed': ['4.2.1.6.1 / 5.2.5.3.2', 'CTRL.MASTER_DISABLE cleared with no CTRL.RST seen: a reset bit set and cleared within one poll interval is invisible to a polling device'],
  'tx-tail-lap-suspected': ['7.2.3.3', 'transmit descriptors rewritten while the NIC owns none and TDT unchanged: a tail advance of exactly one ring cannot be told from no advance'],
  'simulator-stalled': ['8.2.3.1.1', 'the simulator thread did not poll for a whole reset duration around CTRL.RST: write order unknowable'],
} as const;

export type WarningName = keyof typeof WARNINGS;

/** At most this many violations (and warnings) are kept per NIC; later ones are only counted. */
export const MAX_RECORDED = 1000;

export class Checker {
  readonly violations: Violation[] = [];
  readonly warnings: Violation[] = [];
  /** Violations not kept because MAX_RECORDED was reached. */
  dropped = 0;
  /** Called for each new violation (the worker forwards them to the main thread). */
  onViolation: ((v: Violation) => void) | null = null;

  constructor(
    readonly nic: string,
    readonly strict: boolean,
  ) {}

  violation(timeNs: number, rule: RuleName, where: string, detail: string): void {
    const v: Violation = { nic: this.nic, timeNs, rule, where, section: RULES[rule][0], detail };
    if (this.violations.length < MAX_RECORDED) this.violations.push(v);
    else this.dropped++;
    if (this.onViolation !== null) this.onViolation(v);
    if (this.strict) {
      throw new TinyNfError(`82599 ${this.nic}: ${rule} at ${where} (Section ${v.section}): ${detail}`);
    }
  }

  warning(timeNs: number, rule: WarningName, where: string, detail: string): void {
    if (this.warnings.length < MAX_RECORDED) {
      this.warnings.push({ nic: this.nic, timeNs, rule, where, section: WARNINGS[rule][0], detail });
    }
  }
}
