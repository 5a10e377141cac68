import { intToIPv4, ipv4ToInt } from '../ip/address.js';
import { CIDR } from '../ip/cidr.js';
import { podHostVethName } from './sha1.js';
import type { VpcCni } from './vpc-cni.js';

/** ip rule priorities the VPC CNI uses (`pkg/networkutils/network.go`). */
export const RULE_PRIORITY = {
  /** `to <pod IP> lookup main`: traffic to a local pod uses the main table (its /32 veth route). */
  toContainer: 512,
  /** `fwmark 0x80/0x80 lookup main`: connmarked NodePort and SNAT traffic leaves via the primary ENI. */
  connmark: 1024,
  /** `from <pod IP> lookup <ENI table>`: a secondary-ENI pod's traffic leaves through its own ENI. */
  fromPod: 1536,
  /** `from <ENI primary IP> lookup <ENI table>`. */
  fromENIPrimaryIP: 32765,
} as const;

interface Link {
  name: string;
  address: number;
  subnet: CIDR;
  table: number | 'main';
}

function links(cni: VpcCni, nodeName: string): { links: Link[]; pods: { ip: number; veth: string; link: Link }[] } {
  const status = cni.nodeStatus(nodeName);
  const ls: Link[] = status.enis.map((e) => ({ name: e.interfaceName, address: ipv4ToInt(e.primaryIP), subnet: CIDR.parse(e.subnetCIDR), table: e.routeTable }));
  const pods = status.pods.map((p) => {
    const slash = p.podKey.indexOf('/');
    return {
      ip: ipv4ToInt(p.ip),
      veth: podHostVethName(p.podKey.slice(0, slash), p.podKey.slice(slash + 1), cni.config.vethPrefix),
      link: ls[status.enis.findIndex((e) => e.id === p.eniId)]!,
    };
  });
  return { links: ls, pods };
}

/**
 * The node's `ip rule` output with the CNI's rules: 512 `to <pod>` for every pod, 1024 fwmark (unless external
 * SNAT with NodePort support off), 1536 `from <pod>` for pods on secondary ENIs, 32765 `from <ENI primary IP>` per
 * secondary ENI. Rules of one priority keep the order they were added in (pods by start order), as the kernel does.
 */
export function renderIpRules(cni: VpcCni, nodeName: string): string {
  const { links: ls, pods } = links(cni, nodeName);
  const lines = ['0:\tfrom all lookup local'];
  for (const p of pods) lines.push(`${RULE_PRIORITY.toContainer}:\tfrom all to ${intToIPv4(p.ip)} lookup main`);
  if (cni.config.nodePortSupport || !cni.config.externalSnat) lines.push(`${RULE_PRIORITY.connmark}:\tfrom all fwmark 0x80/0x80 lookup main`);
  for (const p of pods) if (p.link.table !== 'main') lines.push(`${RULE_PRIORITY.fromPod}:\tfrom ${intToIPv4(p.ip)} lookup ${p.link.table}`);
  for (const l of ls) if (l.table !== 'main') lines.push(`${RULE_PRIORITY.fromENIPrimaryIP}:\tfrom ${intToIPv4(l.address)} lookup ${l.table}`);
  lines.push('32766:\tfrom all lookup main', '32767:\tfrom all lookup default');
  return `${lines.join('\n')}\n`;
}

interface Route {
  table: number;
  key: number;
  length: number;
  text: string;
}

/**
 * The node's `ip -4 route show table all` output: per secondary ENI a table (device index + 1) with the subnet
 * router and a default route through it; the main table with the default route via eth0, eth0's subnet and a /32
 * per pod to its veth (`eni` + 11 hex of sha1("ns.name")); the local table the kernel keeps for the ENI addresses.
 * Tables in the kernel's dump order (by id, main 254 and local 255 last), routes by address within a table.
 * The AMI's own extras (the IMDS route, DHCP's `proto dhcp … metric`) are left out.
 */
export function renderIpRoutes(cni: VpcCni, nodeName: string): string {
  const { links: ls, pods } = links(cni, nodeName);
  const routes: Route[] = [];
  const MAIN = 254;
  const LOCAL = 255;
  const add = (table: number, key: number, length: number, text: string) => routes.push({ table, key: key >>> 0, length, text });
  const primary = ls[0]!;
  const gw = (l: Link) => intToIPv4(l.subnet.base + 1);
  for (const l of ls) {
    if (l.table === 'main') continue;
    add(l.table, 0, 0, `default via ${gw(l)} dev ${l.name} table ${l.table} `);
    add(l.table, l.subnet.base + 1, 32, `${gw(l)} dev ${l.name} table ${l.table} scope link `);
  }
  add(MAIN, 0, 0, `default via ${gw(primary)} dev ${primary.name} `);
  add(MAIN, primary.subnet.base, primary.subnet.prefixLength, `${primary.subnet.toString()} dev ${primary.name} proto kernel scope link src ${intToIPv4(primary.address)} `);
  for (const p of pods) add(MAIN, p.ip, 32, `${intToIPv4(p.ip)} dev ${p.veth} scope link `);
  for (const l of ls) {
    const ip = intToIPv4(l.address);
    add(LOCAL, l.address, 32, `local ${ip} dev ${l.name} table local proto kernel scope host src ${ip} `);
    add(LOCAL, l.subnet.last, 32, `broadcast ${intToIPv4(l.subnet.last)} dev ${l.name} table local proto kernel scope link src ${ip} `);
  }
  add(LOCAL, 0x7f000000, 8, 'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ');
  add(LOCAL, 0x7f000001, 32, 'local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 ');
  add(LOCAL, 0x7fffffff, 32, 'broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 ');
  // Stable sort: equal keys keep insertion order (the kernel appends aliases of one prefix in that order).
  const order = routes.map((r, i) => ({ r, i })).sort((a, b) => a.r.table - b.r.table || a.r.key - b.r.key || b.r.length - a.r.length || a.i - b.i);
  return `${order.map(({ r }) => r.text).join('\n')}\n`;
}
