// @kube-netsim/model/proxy — kube-proxy: the shared service/endpoint model, iptables rules and their interpreter.
export { base32StdEncode } from './base32.js';
export { type CategorizedEndpoints, type TopologyContext, categorizeEndpoints } from './categorize-endpoints.js';
export {
  isServiceChainName,
  portProtoHash,
  serviceExternalChain,
  serviceFirewallChain,
  servicePortEndpointChain,
  servicePortPolicyClusterChain,
  servicePortPolicyLocalChain,
} from './chain-names.js';
export {
  type LocalTrafficDetector,
  type ResolvedKubeProxyConfiguration,
  ifLocal,
  ifNotLocal,
  localDetectorFor,
  masqueradeMarkOf,
  parseGoDuration,
  resolveKubeProxyConfiguration,
} from './config.js';
export type { Explanation, ProxyPacket } from './explain-types.js';
export { type ProxyNode, proxyNodeOf } from './node.js';
export {
  type EndpointInfo,
  type ProxyServiceState,
  type ServicePortInfo,
  type SkippedService,
  buildProxyServiceState,
  endpointSliceServiceKey,
  endpointsByServicePort,
  endpointsOf,
  externallyAccessible,
  parseIPv4Sloppy,
  servicePortKey,
  servicePortNameString,
  servicePortsOf,
  skipReason,
  usesClusterEndpoints,
  usesLocalEndpoints,
} from './service-port.js';
export { sha256 } from './sha256.js';
export { NFT_TABLE, type NftablesSyncInput, buildNftablesRuleset, nftablesNodePortAddresses } from './nftables/build.js';
export { hashAndTruncate, nftEndpointNames, nftServicePortChains } from './nftables/names.js';
export { sortNftablesTransaction } from './nftables/normalize.js';
export { formatNftMark, nftRuleText, printNftablesRuleset } from './nftables/print.js';
export type { NftBaseChain, NftChain, NftMap, NftMapElement, NftMatch, NftRule, NftRuleset, NftSet, NftStatement, NftVerdict } from './nftables/ruleset.js';
export { type NftablesExplainOptions, explainNftables } from './nftables/explain.js';
export { computeProbability } from './iptables/probability.js';
export {
  CT_STATE_INVALID_NFACCT,
  type IptablesHostFeatures,
  type IptablesSyncInput,
  LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
  LOCALHOST_NODEPORTS_NFACCT,
  type RestoreTable,
  buildIptablesRestore,
  effectiveLocalhostNodePorts,
  formatRestoreTables,
  joinArgs,
  nodePortAddressIPs,
  renderIptablesRestore,
} from './iptables/restore.js';
export { type CniRules, type ForeignTableRules, type IptablesSaveInput, buildIptablesSave, printSaveTable, renderIptablesSave } from './iptables/save.js';
export { saveProbability, saveString, toSaveSyntax } from './iptables/save-format.js';
export {
  type InterpreterContext,
  type InterpreterPacket,
  type InterpreterRun,
  type MatchedRule,
  interpretPacket,
  ruleHits,
} from './interpreter/evaluate.js';
export { type ExplainIptablesOptions, explainIptables, interpreterPacketOf, summarizeRuns } from './interpreter/explain.js';
export { type Chain as IptablesChain, type IptablesRuleset, type Match as IptablesMatch, type Rule as IptablesRule, type Table as IptablesTable, type Target as IptablesTarget, parseIptables, tokenize } from './interpreter/ruleset.js';
export { IPVS_DUMMY_DEVICE, type IpvsSyncInput, buildIpvsState, ipvsNodePortAddresses, ipvsRealServers } from './ipvs/build.js';
export { type IpvsExplainOptions, explainIpvs, ipvsLocalAddresses } from './ipvs/explain.js';
export { type IpvsConnectionCounts, ipvsRealServerLine, ipvsVirtualServerLine, printIpsetSave, printIpvsIptablesRestore, printIpvsadm, printKubeIpvs0 } from './ipvs/print.js';
export type { IpvsIpset, IpvsIptablesRule, IpvsNodeState, IpvsRealServer, IpvsRuleMatch, IpvsVirtualServer } from './ipvs/state.js';
export { DatapathProxySync, type SyncChange, type SyncNodeInput, nodeConfigOf, nodePortFlags } from './sync/datapath-sync.js';
export { ipvsadmCompareRealServers, ipvsadmCompareServices } from './ipvs/build.js';
