import type { Taint } from './core.js';
import type { ObjectMeta } from './meta.js';

// Configuration objects of the ecosystem: eksctl's ClusterConfig, kube-proxy's KubeProxyConfiguration,
// the VPC CNI's ENIConfig. Field names as their own schemas spell them.

export interface EksctlSubnet {
  id?: string;
  cidr?: string;
  az?: string;
}

export interface EksctlNodeGroup {
  name: string;
  instanceType?: string;
  desiredCapacity?: number;
  minSize?: number;
  maxSize?: number;
  privateNetworking?: boolean;
  availabilityZones?: string[];
  /** Subnet names/ids (keys of vpc.subnets.public/private) the group is limited to. */
  subnets?: string[];
  labels?: Record<string, string>;
  taints?: Taint[] | Record<string, string>;
  maxPodsPerNode?: number;
}

export interface ClusterConfig {
  apiVersion: 'eksctl.io/v1alpha5';
  kind: 'ClusterConfig';
  metadata: { name: string; region?: string; version?: string };
  availabilityZones?: string[];
  vpc?: {
    id?: string;
    cidr?: string;
    /** Extra CIDR blocks associated with the VPC (secondary CIDRs, e.g. 100.64.0.0/16 for custom networking). */
    secondaryCIDRs?: string[];
    /** eksctl's own name for extra CIDR blocks (`vpc.extraCIDRs`); read like `secondaryCIDRs`. */
    extraCIDRs?: string[];
    subnets?: { public?: Record<string, EksctlSubnet>; private?: Record<string, EksctlSubnet> };
  };
  kubernetesNetworkConfig?: { serviceIPv4CIDR?: string; ipFamily?: 'IPv4' | 'IPv6' };
  nodeGroups?: EksctlNodeGroup[];
  managedNodeGroups?: EksctlNodeGroup[];
}

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';

export interface KubeProxyConfiguration {
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1';
  kind: 'KubeProxyConfiguration';
  mode?: ProxyMode | '';
  hostnameOverride?: string;
  clusterCIDR?: string;
  detectLocalMode?: 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix' | '';
  detectLocal?: { bridgeInterface?: string; interfaceNamePrefix?: string };
  nodePortAddresses?: string[];
  iptables?: { masqueradeAll?: boolean; masqueradeBit?: number; localhostNodePorts?: boolean; syncPeriod?: string; minSyncPeriod?: string };
  nftables?: { masqueradeAll?: boolean; masqueradeBit?: number; syncPeriod?: string; minSyncPeriod?: string };
  ipvs?: { scheduler?: string; syncPeriod?: string; minSyncPeriod?: string; strictARP?: boolean; tcpTimeout?: string; udpTimeout?: string };
  conntrack?: {
    maxPerCore?: number;
    min?: number;
    tcpEstablishedTimeout?: string;
    tcpCloseWaitTimeout?: string;
    udpTimeout?: string;
    udpStreamTimeout?: string;
    tcpBeLiberal?: boolean;
  };
}

export interface ENIConfig {
  apiVersion: 'crd.k8s.amazonaws.com/v1alpha1';
  kind: 'ENIConfig';
  metadata: ObjectMeta;
  spec: { subnet: string; securityGroups?: string[] };
}

/**
 * The VPC CNI's settings, read from the `aws-node` DaemonSet's env (names as the env variables spell them).
 * Values are the env strings; `cni/config.ts` parses them with ipamd's own defaults.
 */
export type AwsNodeEnv = Record<string, string>;
