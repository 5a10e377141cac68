import { sha256 } from '../sha256.js';
import { IPVS_DUMMY_DEVICE, ipvsadmCompareRealServers } from './build.js';
import type { IpvsNodeState, IpvsRealServer, IpvsVirtualServer } from './state.js';

// The ipvs mode's state as the node's tools print it: `ipvsadm -Ln`, `ip addr show kube-ipvs0`, the
// iptables-restore input kube-proxy writes, and `ipset save`.

/** Connection counts of one real server (`ActiveConn`, `InActConn`), e.g. from a simulation; 0 when absent. */
export type IpvsConnectionCounts = (vs: IpvsVirtualServer, rs: IpvsRealServer) => { active: number; inactive: number } | undefined;

/** `TCP  10.96.0.10:53 rr persistent 10800`, as ipvsadm prints a virtual server (`"%s  %s"`, then the scheduler). */
export function ipvsVirtualServerLine(vs: IpvsVirtualServer): string {
  const persistent = vs.persistentTimeout === undefined ? '' : ` persistent ${vs.persistentTimeout}`;
  return `${vs.protocol}  ${vs.address}:${vs.port} ${vs.scheduler}${persistent}`;
}

/** `  -> 10.244.1.3:80                Masq    1      0          0         ` (ipvsadm's `%-28s %-7s %-6d %-10u %-10u`). */
export function ipvsRealServerLine(rs: IpvsRealServer, active = 0, inactive = 0): string {
  return `  -> ${`${rs.ip}:${rs.port}`.padEnd(28)} ${'Masq'.padEnd(7)} ${String(rs.weight).padEnd(6)} ${String(active).padEnd(10)} ${String(inactive).padEnd(10)}`;
}

/**
 * `ipvsadm -Ln` of the node. The kernel's table size (4096) and IPVS version (1.2.1) are those of a stock kernel;
 * virtual servers and real servers are sorted as ipvsadm sorts them (see `ipvsadmCompareServices`).
 */
export function printIpvsadm(state: IpvsNodeState, counts?: IpvsConnectionCounts): string {
  const out = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const vs of state.virtualServers) {
    out.push(ipvsVirtualServerLine(vs));
    for (const rs of [...vs.realServers].sort(ipvsadmCompareRealServers)) {
      const c = counts?.(vs, rs);
      out.push(ipvsRealServerLine(rs, c?.active ?? 0, c?.inactive ?? 0));
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * `ip addr show kube-ipvs0`: the dummy device (down, NOARP) with every bound service address as a /32. The
 * interface index and MAC address are not kube-proxy's to choose; they are derived from `nodeName` so output is
 * stable.
 */
export function printKubeIpvs0(state: IpvsNodeState, nodeName: string, ifindex = 3): string {
  const h = sha256(`kube-ipvs0/${nodeName}`);
  // A locally administered unicast MAC, as the kernel gives a dummy device a random one.
  const mac = [((h[0] ?? 0) & 0xfe) | 0x02, ...Array.from(h.subarray(1, 6))].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const out = [
    `${ifindex}: ${IPVS_DUMMY_DEVICE}: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default `,
    `    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`,
  ];
  for (const ip of state.boundAddresses) {
    out.push(`    inet ${ip}/32 scope global ${IPVS_DUMMY_DEVICE}`, '       valid_lft forever preferred_lft forever');
  }
  return `${out.join('\n')}\n`;
}

/** The iptables-restore input of one ipvs-mode sync (`*nat` then `*filter`, as kube-proxy concatenates them). */
export function printIpvsIptablesRestore(state: IpvsNodeState): string {
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    out.push(`*${table}`);
    for (const c of state.chains[table]) out.push(`:${c} - [0:0]`);
    for (const r of state.rules) if (r.table === table) out.push(`-A ${r.chain} ${r.text}`);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/** `ipset save` of kube-proxy's sets (hash sets: hashsize 1024 maxelem 65536; bitmap:port: range 0-65535). */
export function printIpsetSave(state: IpvsNodeState): string {
  const out: string[] = [];
  for (const s of state.ipsets.values()) {
    const opts = s.type === 'bitmap:port' ? 'range 0-65535' : 'family inet hashsize 1024 maxelem 65536';
    out.push(`create ${s.name} ${s.type} ${opts}`);
    for (const e of s.entries) out.push(`add ${s.name} ${e}`);
  }
  return `${out.join('\n')}\n`;
}
