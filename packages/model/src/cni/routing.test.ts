import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kernelCapability, requireKernel } from '../../test/support/kernel.js';
import { ipv4ToInt, intToIPv4 } from '../ip/address.js';
import { CIDR } from '../ip/cidr.js';
import { renderIpRoutes, renderIpRules } from './routing.js';
import { podHostVethName } from './sha1.js';
import { VpcCni } from './vpc-cni.js';

// The kernel checks run in a fresh network namespace (unshare -n): they need root; skipped with the reason otherwise.
const capability = kernelCapability([]);

function scenario(env: Record<string, string> = {}): VpcCni {
  const cni = new VpcCni({
    vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'],
    subnets: [
      { id: 'subnet-a', cidr: '10.0.1.0/24', zone: 'us-west-2a', public: false },
      { id: 'subnet-pods', cidr: '100.64.0.0/19', zone: 'us-west-2a', public: false },
    ],
    env,
    eniConfigs: [{ apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'default' }, spec: { subnet: 'subnet-pods' } }],
  });
  cni.addNode({ nodeName: 'n1', instanceType: 't3.small', zone: 'us-west-2a' });
  for (let i = 0; i < 5; i++) {
    cni.assignPodIP('n1', `shop/web-${i}`);
    cni.advance(10);
  }
  return cni;
}

/** The commands ipamd and the CNI plugin run on the node for this state (setupENINetwork, the veth/route/rules of each pod). */
function nodeCommands(cni: VpcCni): string {
  const s = cni.nodeStatus('n1');
  const cmds = ['set -e', 'ip link set lo up'];
  s.enis.forEach((e, i) => {
    const subnet = CIDR.parse(e.subnetCIDR);
    cmds.push(`ip link add ${e.interfaceName} type veth peer name peer${i}`, `ip link set peer${i} up`, `ip link set ${e.interfaceName} up`);
    cmds.push(`ip addr add ${e.primaryIP}/${subnet.prefixLength} brd ${intToIPv4(subnet.last)} dev ${e.interfaceName}`);
  });
  const gw = (cidr: string) => intToIPv4(CIDR.parse(cidr).base + 1);
  cmds.push(`ip route add default via ${gw(s.enis[0]!.subnetCIDR)} dev eth0`);
  for (const e of s.enis.slice(1)) {
    cmds.push(`ip route del ${e.subnetCIDR} dev ${e.interfaceName}`);
    cmds.push(`ip route add ${gw(e.subnetCIDR)} dev ${e.interfaceName} scope link table ${e.routeTable}`);
    cmds.push(`ip route add default via ${gw(e.subnetCIDR)} dev ${e.interfaceName} table ${e.routeTable}`);
    cmds.push(`ip rule add from ${e.primaryIP} lookup ${e.routeTable} prio 32765`);
  }
  cmds.push('ip rule add fwmark 0x80/0x80 lookup main prio 1024');
  s.pods.forEach((p, i) => {
    const [ns, name] = p.podKey.split('/');
    const veth = podHostVethName(ns!, name!);
    const eni = s.enis.find((e) => e.id === p.eniId)!;
    cmds.push(`ip link add ${veth} type veth peer name pod${i}`, `ip link set pod${i} up`, `ip link set ${veth} up`);
    cmds.push(`ip route add ${p.ip} dev ${veth} scope link`, `ip rule add to ${p.ip} lookup main prio 512`);
    if (eni.routeTable !== 'main') cmds.push(`ip rule add from ${p.ip} lookup ${eni.routeTable} prio 1536`);
  });
  cmds.push('echo ==RULES==', 'ip rule', 'echo ==ROUTES==', 'ip -4 route show table all');
  return cmds.join('\n');
}

function kernel(cni: VpcCni): { rules: string; routes: string } {
  const out = execFileSync('unshare', ['-n', 'sh', '-c', nodeCommands(cni)], { encoding: 'utf8' });
  const [, rules, routes] = out.split(/==RULES==\n|==ROUTES==\n/);
  return { rules: rules!, routes: routes! };
}

describe('node routing', () => {
  it('renders the rules and routes of pods on the primary and secondary ENIs', () => {
    const cni = scenario();
    const s = cni.nodeStatus('n1');
    expect(s.enis.length).toBeGreaterThanOrEqual(2);
    const rules = renderIpRules(cni, 'n1');
    const onEth1 = s.pods.find((p) => p.deviceIndex === 1)!;
    const onEth0 = s.pods.find((p) => p.deviceIndex === 0)!;
    expect(rules).toContain(`512:\tfrom all to ${onEth0.ip} lookup main\n`);
    expect(rules).toContain(`1536:\tfrom ${onEth1.ip} lookup 2\n`);
    expect(rules).not.toContain(`from ${onEth0.ip} lookup`);
    expect(rules).toContain(`32765:\tfrom ${s.enis[1]!.primaryIP} lookup 2\n`);
    const routes = renderIpRoutes(cni, 'n1');
    expect(routes).toContain(`${onEth1.ip} dev ${podHostVethName('shop', onEth1.podKey.split('/')[1]!)} scope link \n`);
    expect(routes).toContain('default via 10.0.1.1 dev eth1 table 2 \n');
  });

  it('is what the kernel prints after the same ip commands (secondary IPs)', (ctx) => {
    requireKernel(ctx, capability);
    const cni = scenario();
    const k = kernel(cni);
    expect(renderIpRules(cni, 'n1')).toBe(k.rules);
    expect(renderIpRoutes(cni, 'n1')).toBe(k.routes);
  });

  it('is what the kernel prints under custom networking (pod ENIs in another subnet)', (ctx) => {
    requireKernel(ctx, capability);
    const cni = scenario({ AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
    const s = cni.nodeStatus('n1');
    expect(s.pods.every((p) => p.deviceIndex > 0)).toBe(true);
    expect(s.pods.every((p) => CIDR.parse('100.64.0.0/19').containsInt(ipv4ToInt(p.ip)))).toBe(true);
    const k = kernel(cni);
    expect(renderIpRules(cni, 'n1')).toBe(k.rules);
    expect(renderIpRoutes(cni, 'n1')).toBe(k.routes);
  });

  it('drops the fwmark rule only with external SNAT and NodePort support off', () => {
    const cni = scenario({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' });
    expect(renderIpRules(cni, 'n1')).not.toContain('fwmark');
    expect(renderIpRules(scenario({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' }), 'n1')).toContain('1024:\tfrom all fwmark 0x80/0x80 lookup main');
  });
});
