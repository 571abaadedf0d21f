// Reset values of the register file (Section 4.2.1.6.1 Software Reset; each register's own section gives its
// "Initial Value"). Only what drivers rely on is certain; the GUESS values are listed in registers.ts.
import * as R from './registers';

/**
 * Write the reset values into `regs` (the whole BAR0 is zeroed first). `mac` is the EEPROM-loaded station address
 * (RAL/RAH(0) with Address Valid). EEC.AUTO_RD and RDRXCTL.DMAIDONE are left 0: the NIC sets them when its
 * post-reset work (EEPROM auto-read, DMA initialisation) is done.
 */
export function writeResetValues(regs: Uint32Array, mac: Uint8Array, lanId: number): void {
  regs.fill(0);
  const w = (offset: number, value: number) => {
    regs[offset >>> 2] = value >>> 0;
  };
  w(R.STATUS, ((lanId & 0x3) << R.STATUS_LAN_ID_SHIFT) | R.STATUS_PCIE_MASTER_ENABLE_STATUS);
  w(R.EEC, R.EEC_EE_PRES);
  w(R.HLREG0, R.HLREG0_RESET);
  w(R.MAXFRS, R.MAXFRS_RESET);
  w(R.AUTOC, R.AUTOC_RESET);
  w(R.RDRXCTL, R.RDRXCTL_RESET);
  w(R.RXPBSIZE(0), R.RXPBSIZE0_RESET);
  w(R.TXPBSIZE(0), R.TXPBSIZE0_RESET);
  w(R.TXPBTHRESH(0), R.TXPBTHRESH0_RESET);
  for (let n = 0; n < R.RX_QUEUES; n++) {
    w(R.rxQueueBase(n) + R.SRRCTL_OFF, R.SRRCTL_RESET);
    w(R.rxQueueBase(n) + R.DCA_RXCTRL_OFF, R.DCA_RXCTRL_RESET);
  }
  for (let n = 0; n < R.ALIASED_RX_QUEUES; n++) {
    w(R.SRRCTL_ALIAS_BASE + 4 * n, R.SRRCTL_RESET);
    w(R.DCA_RXCTRL_ALIAS_BASE + 4 * n, R.DCA_RXCTRL_RESET);
  }
  for (let n = 0; n < R.TX_QUEUES; n++) w(R.txQueueBase(n) + R.DCA_TXCTRL_OFF, R.DCA_TXCTRL_RESET);
  // Section 8.2.3.7.8/9: RAL/RAH(0) loaded from the EEPROM with AV = 1; other entries AV = 0
  w(R.RAL(0), mac[0] | (mac[1] << 8) | (mac[2] << 16) | (mac[3] << 24));
  w(R.RAH(0), mac[4] | (mac[5] << 8) | R.RAH_AV);
  // Section 8.2.3.22.20: the (simulated) cable is plugged in, 10 GbE link up
  w(R.LINKS, R.LINKS_UP_10G);
}
