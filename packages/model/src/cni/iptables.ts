import type { RandomizeSnat } from './config.js';

/** What `cniIptablesRules` needs: the VPC's CIDR blocks, the node's primary IP and aws-node's SNAT settings. */
export interface CniIptablesOptions {
  /** Every IPv4 CIDR block associated with the VPC, in the order EC2 lists them. */
  vpcCIDRs: string[];
  /** `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS` (already validated, see `cniConfigFromEnv`). */
  excludeSnatCIDRs?: string[];
  /** `AWS_VPC_K8S_CNI_EXTERNALSNAT=true`: no SNAT and no connmark rules (the chains still exist, empty). */
  externalSnat?: boolean;
  /** The node IP: the primary ENI's primary private IP, the SNAT source. */
  nodePrimaryIP: string;
  /** The primary ENI's interface, default `eth0` (`ens5` on some AMIs). */
  primaryInterface?: string;
  /** Default `prng` (`--random-fully`). */
  randomizeSnat?: RandomizeSnat;
  /** `AWS_VPC_CNI_NODE_PORT_SUPPORT`, default true. */
  nodePortSupport?: boolean;
  /** `AWS_VPC_K8S_CNI_VETHPREFIX`, default `eni`. */
  vethPrefix?: string;
}

export interface CniIptablesTable {
  /** User-defined chains the CNI creates in this table (as `:NAME - [0:0]` lines name them). */
  chains: string[];
  /** `-A CHAIN …` lines as `iptables-save` prints them, in the order the plugin appends them. */
  rules: string[];
}

/** The connmark bit ipamd uses (`AWS_VPC_K8S_CNI_CONNMARK` default). */
export const CNI_CONNMARK = 0x80;

/**
 * The nat and mangle rules the VPC CNI installs on a node (`buildIptablesSNATRules` and
 * `buildIptablesConnmarkRules` in `pkg/networkutils/network.go`), as `iptables-save` shows them.
 * Pod traffic to a destination outside the VPC CIDRs and the exclusions is SNATed to the node's primary IP;
 * replies and NodePort traffic are kept on the primary ENI with connmark 0x80 (ip rule 1024).
 */
export function cniIptablesRules(options: CniIptablesOptions): { nat: CniIptablesTable; mangle: CniIptablesTable } {
  const snat = options.externalSnat !== true;
  const nodePort = options.nodePortSupport !== false;
  const veth = `${options.vethPrefix ?? 'eni'}+`;
  const primary = options.primaryInterface ?? 'eth0';
  const excluded = options.excludeSnatCIDRs ?? [];
  const mark = `0x${CNI_CONNMARK.toString(16)}`;
  const restore = `-j CONNMARK --restore-mark --nfmask ${mark} --ctmask ${mark}`;
  const nat: string[] = [];
  const mangle: string[] = [];

  // SNAT rules (buildIptablesSNATRules): jump, per-CIDR RETURNs, the SNAT rule last.
  if (snat) {
    nat.push('-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0');
    for (const cidr of options.vpcCIDRs) nat.push(`-A AWS-SNAT-CHAIN-0 -d ${cidr} -m comment --comment "AWS SNAT CHAIN" -j RETURN`);
    for (const cidr of excluded) nat.push(`-A AWS-SNAT-CHAIN-0 -d ${cidr} -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN`);
    const random = options.randomizeSnat === 'none' ? '' : options.randomizeSnat === 'hashrandom' ? ' --random' : ' --random-fully';
    nat.push(
      `-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${options.nodePrimaryIP}${random}`,
    );
  }
  // mangle PREROUTING: mark what arrives on the primary ENI for a local address; restore on pod veths and VLANs.
  if (nodePort) {
    mangle.push(
      `-A PREROUTING -i ${primary} -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark ${mark}/${mark}`,
    );
  }
  if (nodePort || snat) mangle.push(`-A PREROUTING -i ${veth} -m comment --comment "AWS, primary ENI" ${restore}`);
  if (nodePort) mangle.push(`-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" ${restore}`);

  // Connmark rules (buildIptablesConnmarkRules): off-VPC connections from pods get 0x80 so they leave via eth0.
  if (snat) {
    nat.push(`-A PREROUTING -i ${veth} -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0`);
    const exclusions = new Set(excluded);
    for (const cidr of [...options.vpcCIDRs, ...excluded]) {
      const comment = exclusions.has(cidr) ? 'AWS CONNMARK CHAIN, EXCLUDED CIDR' : 'AWS CONNMARK CHAIN, VPC CIDR';
      nat.push(`-A AWS-CONNMARK-CHAIN-0 -d ${cidr} -m comment --comment "${comment}" -j RETURN`);
    }
    nat.push(`-A PREROUTING -m comment --comment "AWS, CONNMARK" ${restore}`);
    nat.push(`-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark ${mark}/${mark}`);
  }
  // ipamd creates both chains whatever the SNAT setting (NewChain runs before the shouldExist checks).
  return { nat: { chains: ['AWS-CONNMARK-CHAIN-0', 'AWS-SNAT-CHAIN-0'], rules: nat }, mangle: { chains: [], rules: mangle } };
}
