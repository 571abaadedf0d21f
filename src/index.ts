// The public API of the tinynf package: `require('tinynf')` / `import ... from 'tinynf'`. Everything not exported
// here is internal (its path under dist/ may change). docs/api.md describes each group.

// --- Writing an NF: the handler contract, the NF object, the definition helper and its typed configuration schema
export type { Clock, PacketHandler } from './ixgbe/handler';
export type { NetworkFunction, NfContext } from './nf/network-function';
export { defineNf, isNfDefinition } from './nf/config';
export type { NfDefinition, NfFlag, NfModule, SimTrafficFor, SimTrafficHint } from './nf/config';
export { ConfigError, describeSchema, flagName, ipv4Text, parseIpv4Text, parseIpv6Text, parseMacText, schema } from './nf/schema';
export type { Field, FieldKind, Infer, Ipv4Prefix, ListField, NumberOptions, ObjectField } from './nf/schema';
export { NETWORK_FUNCTIONS, nfDefinition, loadConfigFile } from './nf';

// --- Testing an NF: the testbed (in-memory 82599s driven by the real driver)
export { Testbed, wireTimeNs } from './app/testbed';
export type { TestbedOptions, TestbedRunOptions, TestbedStats } from './app/testbed';

// --- Running an NF: on simulated or real ports, with progress and a summary (what `tinynf run` does)
export { runNf } from './app/run-nf';
export type { RunNfOptions, RunNfResult, SimTraffic } from './app/run-nf';
export { runLoop, totals } from './app/run-loop';
export type { Progress, RunLoopOptions, RunSummary, Totals } from './app/run-loop';
export { DRIVER_MODELS, DriverPorts, parseDriverModel } from './app/driver-ports';
export type { DriverModel } from './app/driver-ports';

// --- Packet helpers, checksums, the flow table, the clock
export {
  ETH_DST,
  ETH_HEADER,
  ETH_SRC,
  ETH_TYPE,
  ETHERTYPE_IPV4,
  IP_CHECKSUM,
  IP_DST,
  IP_FLAGS_FRAGMENT,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  IP_PROTOCOL,
  IP_SRC,
  IP_TOTAL_LENGTH,
  IP_VERSION_IHL,
  IPV4_MIN_HEADER,
  internetChecksum,
  ipv4HeaderLength,
  isFragment,
} from './nf/lib/packet';
export {
  checksumReplace,
  checksumReplace16,
  checksumReplace32,
  checksumReplaceAddressPort,
  fold16,
  ipv4HeaderChecksumValid,
  sum32,
  udpChecksumField,
} from './nf/lib/checksum';
export { FlowTable, keyedHash, fiveTupleKey, ipv4Key, ipv6Key, macKey, randomSecret, parseSecret } from './nf/lib/flow-table';
export { SourceQuota, QuotaLink } from './nf/lib/source-quota';
export { CoarseClock } from './nf/lib/coarse-clock';

// --- The packet library (docs/packets.md): header views per protocol, malformed codes, the one-call classifier,
// checksums with pseudo-headers, text forms of addresses, frame builders, in-place answers, LPM, NF chains, decoding.
// (Per-packet code should take constants into module-level consts: `const { ETH_HEADER } = tinynf;` once, since an
// imported binding of a package re-export is read through a getter at every use; docs/packets.md, measured.)
export * from './nf/lib/ethernet';
export * from './nf/lib/arp';
export * from './nf/lib/ipv4';
export * from './nf/lib/ipv6';
export * from './nf/lib/transport';
export * from './nf/lib/icmp';
export * from './nf/lib/overlay';
export * from './nf/lib/malformed';
export { PacketInfo, classify } from './nf/lib/classify';
export {
  internetChecksum as fullChecksum,
  ipv4HeaderChecksum,
  ipv4PseudoHeaderSum,
  ipv4TransportChecksum,
  ipv6PseudoHeaderSum,
  ipv6TransportChecksum,
  onesComplementSum,
} from './nf/lib/checksum';
export { configIpv4, configMac, formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv4Prefix, parseIpv6, parseIpv6Prefix, parseMac } from './nf/lib/address';
export { FrameBuilder, frame, pattern } from './nf/lib/build';
export type { ArpOptions, EthOptions, GeneveOptions, GreOptions, IcmpOptions, Ipv4Options, Ipv6Extension, Ipv6Options, TcpOptions, UdpOptions, VlanOptions, VxlanOptions } from './nf/lib/build';
export { ICMP_ERROR_MAX_IP, writeArpReply, writeIcmpEchoReply, writeIcmpError } from './nf/lib/answer';
export { LPM4_MAX_NEXT_HOP, LPM_MISS, Lpm4 } from './nf/lib/lpm4';
export { LPM6_MAX_NEXT_HOP, Lpm6 } from './nf/lib/lpm6';
export { chainDefinition, chainKeys, createChain } from './nf/chain';
export { decodeFrame } from './nf/lib/decode';
export type { DecodedFrame, DecodedPacket } from './nf/lib/decode';

// --- Advanced: environments, the driver's devices and forwarders of each model, the simulator machine
export { TinyNfError, parsePciAddress } from './env/environment';
export type { DmaMemory, Environment, PciAddress } from './env/environment';
export { LinuxEnvironment } from './env/linux';
export type { LinuxEnvironmentOptions } from './env/linux';
export { SimulatedEnvironment } from './env/simulated';
export type { SimulatedPlatform } from './env/simulated';
export { SimMachine } from './sim/machine';
export type { SimMachineOptions } from './sim/machine';
export { Device } from './ixgbe/device';
export { Agent } from './ixgbe/agent';
export type { AgentStats } from './ixgbe/agent';
export { FlexibleForwarder } from './ixgbe/flexible';
export type { FlexibleOptions, FlexibleStats } from './ixgbe/flexible';
export type { Forwarder, ForwarderStats } from './ixgbe/forwarder';
export { CompatForwarder } from './compat/forwarder';
export { DpdkShim } from './compat/ethdev';
export { readPcap, PcapWriter } from './sim/wires/pcap';
