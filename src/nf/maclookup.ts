// maclookup: TinyNF's "lookup" benchmark NF (OSDI'20, Table 4 "lookup" row; code/tinynf.c with
// TN_DEBUG_PERF_DOLOOKUP in the osdi20 branch of dslab-epfl/tinynf): like macrewrite, but every byte of the new
// destination MAC is read from a 64 KiB table, at an index made of two bytes of the source MAC, so each packet costs
// six data-dependent loads from a table larger than L1 cache. The frame then goes to the other port.
//
// Our reading of that code (written down here because the paper only names the experiment):
// - the table has 65536 one-byte entries, table[n] = (n * multiplier) mod 256, multiplier 123 as in TinyNF, filled
//   once at start;
// - with s0..s5 the source MAC bytes (frame bytes 6..11), the destination MAC bytes d0..d5 are
//     d0 = table[s0 << 8 | s1]   d1 = table[s1 << 8 | s0]
//     d2 = table[s2 << 8 | s3]   d3 = table[s3 << 8 | s2]
//     d4 = table[s4 << 8 | s5]   d5 = table[s5 << 8 | s4]
// - the source MAC is left as it is (TinyNF's code writes only bytes 0..5).
// Frames shorter than 12 bytes (no source MAC) are dropped and counted (runt), as macrewrite does.
import type { PacketHandler } from '../ixgbe/handler';
import { defineNf } from './config';
import { Infer, schema } from './schema';
import type { NetworkFunction, NfContext } from './network-function';
import { otherPorts } from './simple';

export const MACLOOKUP_CONFIG = schema.object({
  multiplier: schema.integer({ positive: true, default: 123, describe: 'table[n] = (n * multiplier) mod 256 (TinyNF: 123)' }),
});

export type MacLookupConfig = Infer<typeof MACLOOKUP_CONFIG>;

export const MACLOOKUP_DEFAULTS: MacLookupConfig = MACLOOKUP_CONFIG.parse({}, '');

/** 2^16 one-byte entries: indexed by two source MAC bytes. */
export const MACLOOKUP_TABLE_SIZE = 1 << 16;

/** The lookup table (exported for tests, which recompute it independently). */
export function macLookupTable(multiplier: number): Uint8Array {
  const table = new Uint8Array(MACLOOKUP_TABLE_SIZE);
  for (let n = 0; n < MACLOOKUP_TABLE_SIZE; n++) table[n] = Math.imul(n, multiplier) & 0xff;
  return table;
}

export function createMacLookup(config: MacLookupConfig, ctx: NfContext): NetworkFunction {
  const table = macLookupTable(config.multiplier);
  const c = { forwarded: 0, runt: 0 };
  const handler: PacketHandler = (packet, _data, length, outputs) => {
    if (length < 12) {
      c.runt++;
      return 0; // no source MAC to look up: dropped, counted
    }
    const s0 = packet[6];
    const s1 = packet[7];
    const s2 = packet[8];
    const s3 = packet[9];
    const s4 = packet[10];
    const s5 = packet[11];
    packet[0] = table[(s0 << 8) | s1];
    packet[1] = table[(s1 << 8) | s0];
    packet[2] = table[(s2 << 8) | s3];
    packet[3] = table[(s3 << 8) | s2];
    packet[4] = table[(s4 << 8) | s5];
    packet[5] = table[(s5 << 8) | s4];
    c.forwarded++;
    outputs[0] = 1;
    return length;
  };
  const ports = otherPorts(ctx.ports);
  return {
    name: 'maclookup',
    outputPorts: ports,
    handlers: ports.map(() => handler),
    counters: () => ({ ...c }),
  };
}

export const MACLOOKUP_DEFINITION = defineNf({
  name: 'maclookup',
  description: "TinyNF's lookup benchmark NF: each dst MAC byte from a 64 KiB table indexed by two src MAC bytes, forward to the other port",
  config: MACLOOKUP_CONFIG,
  create: createMacLookup,
});
