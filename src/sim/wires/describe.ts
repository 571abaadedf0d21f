// Serialisable wire descriptions: plain JSON objects a worker thread (or a CLI flag) turns into wires.
// A description crosses postMessage; the wire it makes does not (it holds fds, templates, file buffers).
import { TinyNfError } from '../../env/environment';
import { WireInput, WireOutput } from '../wire';
import { GeneratorOptions, TrafficGenerator } from './generator';
import { NullOutput, CountingOutput } from './outputs';
import { PcapInput, PcapInputOptions, PcapWriter, PcapWriterOptions } from './pcap';
import { RepliesOptions, RepliesWire } from './replies';
import { TapWire } from './tap';

export type InputDescription =
  | ({ kind: 'generator' } & GeneratorOptions)
  | ({ kind: 'pcap'; path: string } & PcapInputOptions)
  | { kind: 'tap'; name: string; netns?: string }
  /** The replies to what the port transmits: the input half of the replies wire `name` (replies.ts). */
  | ({ kind: 'replies'; name: string } & RepliesOptions)
  | { kind: 'none' };

export type OutputDescription =
  /** `counters`: optional Float64Array over a SharedArrayBuffer ([packets, bytes]) the creator can read. */
  | { kind: 'count'; counters?: Float64Array }
  | ({ kind: 'pcap-out'; path: string } & PcapWriterOptions)
  | { kind: 'tap'; name: string; netns?: string }
  /** The output half of the replies wire `name`: what the port transmits is answered on the input of that name. */
  | ({ kind: 'replies'; name: string } & RepliesOptions)
  | { kind: 'none' };

/** An input that never has a frame. */
export class EmptyInput implements WireInput {
  next(_into: Uint8Array, _nowNs: number): number {
    return 0;
  }
}

export function createInput(desc: InputDescription): WireInput {
  switch (desc?.kind) {
    case 'generator': {
      const { kind: _kind, ...options } = desc;
      return new TrafficGenerator(options);
    }
    case 'pcap':
      return new PcapInput(desc.path, desc);
    case 'tap':
      return TapWire.acquire(desc.name, { netns: desc.netns }).input;
    case 'replies':
      return RepliesWire.acquire(desc.name, repliesOptions(desc)).input;
    case 'none':
      return new EmptyInput();
    default:
      throw new TinyNfError(`unknown wire input kind '${String((desc as { kind?: unknown })?.kind)}': generator, pcap, tap, replies or none`);
  }
}

export function createOutput(desc: OutputDescription): WireOutput {
  switch (desc?.kind) {
    case 'count':
      return new CountingOutput(desc.counters);
    case 'pcap-out': {
      const { kind: _kind, path, ...options } = desc;
      return new PcapWriter(path, options);
    }
    case 'tap':
      return TapWire.acquire(desc.name, { netns: desc.netns }).output;
    case 'replies':
      return RepliesWire.acquire(desc.name, repliesOptions(desc)).output;
    case 'none':
      return new NullOutput();
    default:
      throw new TinyNfError(`unknown wire output kind '${String((desc as { kind?: unknown })?.kind)}': count, pcap-out, tap, replies or none`);
  }
}

function repliesOptions(desc: RepliesOptions): RepliesOptions {
  return { capacity: desc.capacity, bufferBytes: desc.bufferBytes, delayNs: desc.delayNs, counters: desc.counters };
}

/** Release what a wire holds (pcap writers flush and close, TAP fds and replies wires are released); others: nothing. */
export function closeWire(wire: WireInput | WireOutput): void {
  const closable = wire as { close?: () => void };
  if (typeof closable.close === 'function') closable.close();
}
