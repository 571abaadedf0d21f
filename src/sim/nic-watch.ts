// The register watch list (every BAR0 register whose write has an effect, in processing order, with the kind of
// effect), and readable register names for reports.
import * as R from './registers';

// Watch-list kinds: what a change of a watched register means.
export const K_CTRL = 1;
export const K_READ_ONLY = 2;
export const K_EEC = 3;
export const K_EIMS = 4;
export const K_EIMC = 5;
export const K_HLREG0 = 6;
export const K_RDRXCTL = 7;
export const K_RXCTRL = 8;
export const K_FCTRL = 9;
export const K_SECRXCTRL = 10;
export const K_DMATXCTL = 11;
export const K_AUTOC = 12;
export const K_RECEIVE_ADDRESS = 13;
export const K_RX_RING = 20;
export const K_SRRCTL = 21;
export const K_DCA_RXCTRL = 22;
export const K_RXDCTL = 23;
export const K_RDH = 24;
export const K_RDT = 25;
export const K_TX_RING = 30;
export const K_TXDCTL = 31;
export const K_TDH = 32;
export const K_TDT = 33;

export function hex(v: number): string {
  return '0x' + v.toString(16);
}
/** The watch list: every register whose write has an effect, in the order writes are processed within a poll. */
export function buildWatchList(): { words: Int32Array; kinds: Uint8Array; params: Int16Array } {
  const words: number[] = [];
  const kinds: number[] = [];
  const params: number[] = [];
  const add = (offset: number, kind: number, param = 0) => {
    words.push(offset >>> 2);
    kinds.push(kind);
    params.push(param);
  };
  add(R.CTRL, K_CTRL);
  add(R.STATUS, K_READ_ONLY);
  add(R.EEC, K_EEC);
  add(R.FWSM, K_READ_ONLY);
  add(R.LINKS, K_READ_ONLY);
  add(R.SECRXSTAT, K_READ_ONLY);
  add(R.EIMS, K_EIMS);
  add(R.EIMC, K_EIMC);
  add(R.EIMC1, K_EIMC);
  add(R.EIMC2, K_EIMC);
  add(R.AUTOC, K_AUTOC);
  add(R.HLREG0, K_HLREG0);
  add(R.RDRXCTL, K_RDRXCTL);
  for (let n = 0; n < 16; n++) {
    add(R.RAL(n), K_RECEIVE_ADDRESS);
    add(R.RAH(n), K_RECEIVE_ADDRESS);
  }
  add(R.FCTRL, K_FCTRL);
  // RXCTRL before SECRXCTRL: in TinyNF's sequence RXEN and the clearing of RX_DIS land in one interval
  add(R.RXCTRL, K_RXCTRL);
  add(R.SECRXCTRL, K_SECRXCTRL);
  add(R.DMATXCTL, K_DMATXCTL);
  for (let q = 0; q < R.RX_QUEUES; q++) {
    const b = R.rxQueueBase(q);
    add(b + R.RDBAL_OFF, K_RX_RING, q);
    add(b + R.RDBAH_OFF, K_RX_RING, q);
    add(b + R.RDLEN_OFF, K_RX_RING, q);
    add(b + R.SRRCTL_OFF, K_SRRCTL, q);
    if (q < R.ALIASED_RX_QUEUES) add(R.SRRCTL_ALIAS_BASE + 4 * q, K_SRRCTL, q);
    add(b + R.DCA_RXCTRL_OFF, K_DCA_RXCTRL, q);
    if (q < R.ALIASED_RX_QUEUES) add(R.DCA_RXCTRL_ALIAS_BASE + 4 * q, K_DCA_RXCTRL, q);
    add(b + R.RXDCTL_OFF, K_RXDCTL, q);
    add(b + R.RDH_OFF, K_RDH, q);
    add(b + R.RDT_OFF, K_RDT, q);
  }
  for (let q = 0; q < R.TX_QUEUES; q++) {
    const b = R.txQueueBase(q);
    add(b + R.TDBAL_OFF, K_TX_RING, q);
    add(b + R.TDBAH_OFF, K_TX_RING, q);
    add(b + R.TDLEN_OFF, K_TX_RING, q);
    add(b + R.TDWBAL_OFF, K_TX_RING, q);
    add(b + R.TDWBAH_OFF, K_TX_RING, q);
    add(b + R.TXDCTL_OFF, K_TXDCTL, q);
    add(b + R.TDH_OFF, K_TDH, q);
    add(b + R.TDT_OFF, K_TDT, q);
  }
  return { words: Int32Array.from(words), kinds: Uint8Array.from(kinds), params: Int16Array.from(params) };
}

/** A readable name for a register offset (for violation reports). */
export function registerName(offset: number): string {
  const names: Record<number, string> = {
    [R.CTRL]: 'CTRL',
    [R.STATUS]: 'STATUS',
    [R.CTRL_EXT]: 'CTRL_EXT',
    [R.EEC]: 'EEC',
    [R.FWSM]: 'FWSM',
    [R.EIMS]: 'EIMS',
    [R.EIMC]: 'EIMC',
    [R.HLREG0]: 'HLREG0',
    [R.RDRXCTL]: 'RDRXCTL',
    [R.RXCTRL]: 'RXCTRL',
    [R.FCTRL]: 'FCTRL',
    [R.SECRXCTRL]: 'SECRXCTRL',
    [R.SECRXSTAT]: 'SECRXSTAT',
    [R.DMATXCTL]: 'DMATXCTL',
    [R.LINKS]: 'LINKS',
    [R.AUTOC]: 'AUTOC',
  };
  if (names[offset] !== undefined) return names[offset];
  const rx = [
    [R.RDBAL_OFF, 'RDBAL'],
    [R.RDBAH_OFF, 'RDBAH'],
    [R.RDLEN_OFF, 'RDLEN'],
    [R.DCA_RXCTRL_OFF, 'DCA_RXCTRL'],
    [R.RDH_OFF, 'RDH'],
    [R.SRRCTL_OFF, 'SRRCTL'],
    [R.RDT_OFF, 'RDT'],
    [R.RXDCTL_OFF, 'RXDCTL'],
  ] as const;
  if ((offset >= 0x1000 && offset < 0x2000) || (offset >= 0xd000 && offset < 0xe000)) {
    const q = offset < 0x2000 ? (offset - 0x1000) >> 6 : 64 + ((offset - 0xd000) >> 6);
    const name = rx.find(([o]) => o === (offset & 0x3f));
    if (name) return `${name[1]}(${q})`;
  }
  if (offset >= 0x6000 && offset < 0x8000) {
    const tx = [
      [R.TDBAL_OFF, 'TDBAL'],
      [R.TDBAH_OFF, 'TDBAH'],
      [R.TDLEN_OFF, 'TDLEN'],
      [R.DCA_TXCTRL_OFF, 'DCA_TXCTRL'],
      [R.TDH_OFF, 'TDH'],
      [R.TDT_OFF, 'TDT'],
      [R.TXDCTL_OFF, 'TXDCTL'],
      [R.TDWBAL_OFF, 'TDWBAL'],
      [R.TDWBAH_OFF, 'TDWBAH'],
    ] as const;
    const name = tx.find(([o]) => o === (offset & 0x3f));
    if (name) return `${name[1]}(${(offset - 0x6000) >> 6})`;
  }
  if (offset >= R.SRRCTL_ALIAS_BASE && offset < R.SRRCTL_ALIAS_BASE + 64) return `SRRCTL(${(offset - R.SRRCTL_ALIAS_BASE) >> 2})`;
  if (offset >= R.DCA_RXCTRL_ALIAS_BASE && offset < R.DCA_RXCTRL_ALIAS_BASE + 64) return `DCA_RXCTRL(${(offset - R.DCA_RXCTRL_ALIAS_BASE) >> 2})`;
  return `register 0x${offset.toString(16).padStart(5, '0')}`;
}
