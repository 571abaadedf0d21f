// The wires a simulated port can be plugged into (see docs/wires.md).
export { WireInput, WireOutput, QueueInput, CollectingOutput } from '../wire';
export {
  TrafficGenerator,
  GeneratorOptions,
  FlowField,
  FrameSizes,
  Rate,
  lineRateMpps,
  readStamp,
  stampOffset,
  STAMP_OFFSET_UDP,
  STAMP_OFFSET_TCP,
} from './generator';
export { PcapWriter, PcapInput, PcapWriterOptions, PcapInputOptions, readPcap, parsePcap } from './pcap';
export { CountingOutput, CheckerOutput, TeeOutput, NullOutput, FCS_BYTES } from './outputs';
export { TapWire, TapInput, TapOutput } from './tap';
export { RepliesWire, RepliesInput, RepliesOutput, RepliesOptions, REPLIES_DEFAULT_CAPACITY } from './replies';
export { createInput, createOutput, closeWire, InputDescription, OutputDescription, EmptyInput } from './describe';
