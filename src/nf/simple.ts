// The TinyNF benchmark functions: nop (forward unchanged) and macrewrite (dst MAC 00:00:00:00:00:01, src MAC 0).
import type { PacketHandler } from '../ixgbe/handler';
import type { NetworkFunction, NfContext } from './network-function';
import { defineNf } from './config';

/** Port i forwards to the "next" port; for two ports, 0 <-> 1. */
export function otherPorts(ports: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ports; i++) out.push([(i ^ 1) < ports ? i ^ 1 : 0]);
  return out;
}

export function createNop(_config: Record<string, never>, ctx: NfContext): NetworkFunction {
  const handler: PacketHandler = (_packet, _data, length, outputs) => {
    outputs[0] = 1;
    return length;
  };
  return {
    name: 'nop',
    outputPorts: otherPorts(ctx.ports),
    handlers: otherPorts(ctx.ports).map(() => handler),
    counters: () => ({}),
  };
}

export function createMacRewrite(_config: Record<string, never>, ctx: NfContext): NetworkFunction {
  let runt = 0;
  const handler: PacketHandler = (packet, _data, length, outputs) => {
    if (length < 12) {
      runt++;
      return 0; // too short to have MAC addresses: dropped, counted
    }
    // dst 00:00:00:00:00:01, src 00:00:00:00:00:00 (TinyNF's benchmark NF)
    packet.fill(0, 0, 12);
    packet[5] = 1;
    outputs[0] = 1;
    return length;
  };
  return {
    name: 'macrewrite',
    outputPorts: otherPorts(ctx.ports),
    handlers: otherPorts(ctx.ports).map(() => handler),
    counters: () => ({ runt }),
  };
}

export const NOP_DEFINITION = defineNf({ name: 'nop', description: 'forward every packet unchanged to the other port', create: createNop });

export const MACREWRITE_DEFINITION = defineNf({
  name: 'macrewrite',
  description: "TinyNF's benchmark NF: dst MAC 00:00:00:00:00:01, src MAC 0, forward to the other port",
  create: createMacRewrite,
});
