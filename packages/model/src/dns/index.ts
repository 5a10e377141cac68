export { ClusterDNS, type DNSRecord, type DNSRecordType, type DNSResponse, clusterDNS, dashedIP, nodeDomain, reverseName, vpcResolverIP } from './records.js';
export { type ResolvConf, clusterDNSIP, formatResolvConf, nodeResolvConf, resolvConf } from './resolv-conf.js';
export { type DNSQuery, type Resolution, resolve, searchCandidates } from './resolver.js';
