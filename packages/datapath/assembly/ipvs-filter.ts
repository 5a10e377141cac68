// ipvs mode's filter-table chain KUBE-IPVS-FILTER (hooked from INPUT), for a new connection that met no virtual
// server: RETURN for the health-check node ports (ipset KUBE-HEALTH-CHECK-NODE-PORT, bitmap:port — the port alone,
// any address and protocol), else REJECT when the destination is in KUBE-IPVS-IPS, the addresses bound to the dummy
// interface kube-ipvs0 (every ClusterIP, external IP and load-balancer IP that is not one of the node's own).
// The (ip, proto:port) RETURN rules before them are the virtual servers the batch already found.
import { allocZeroed, fail, ST_OK, ST_BAD_ARGUMENT } from './core-state';
import { ipSetInit, ipSetHas, ipSetCount } from './ip-set';
import { localAddressFlags, ADDR_KUBE_IPVS0 } from './nodes';

/** Addresses of every service-address entry, of any kind, counted by entry. */
const serviceAddresses: usize = memory.data(12);

// KUBE-HEALTH-CHECK-NODE-PORT: one bit per port.
let healthCheckPorts: usize = 0;

export function initIpvsFilter(): void {
  ipSetInit(serviceAddresses);
  healthCheckPorts = allocZeroed(65536 >>> 3);
}

/** Whether some service-address entry (ClusterIP, external IP or load-balancer IP, any port) is on `ip`. */
export function isServiceAddress(ip: u32): bool { return ipSetHas(serviceAddresses, ip); }

/** One more (delta 1) or one less (−1) service-address entry on `ip`. */
export function serviceAddressRef(ip: u32, delta: i32): void { ipSetCount(serviceAddresses, ip, delta); }

/** Whether `port` is in KUBE-HEALTH-CHECK-NODE-PORT. */
// @ts-ignore: decorator
@inline export function isHealthCheckNodePort(port: u32): bool {
  return (load<u8>(healthCheckPorts + <usize>((port & 0xffff) >>> 3)) & (1 << (port & 7))) != 0;
}

/** Adds (on ≠ 0) or removes `port` (1…65535) from KUBE-HEALTH-CHECK-NODE-PORT. Status. */
export function coreSetHealthCheckNodePort(port: u32, on: u32): i32 {
  if (port == 0 || port > 65535) return fail(ST_BAD_ARGUMENT, 1);
  const p = healthCheckPorts + <usize>(port >>> 3);
  const cur = <u32>load<u8>(p);
  const bit: u32 = 1 << (port & 7);
  store<u8>(p, on != 0 ? cur | bit : cur & ~bit);
  return ST_OK;
}

/**
 * KUBE-IPVS-FILTER's verdict on a new connection to `dst`:`dport` on an ipvs node that found no virtual server:
 * true to REJECT. `dst` is on kube-ipvs0 when it is a service address that is not an address of the node's own: not
 * local on `node`, or local as bound to kube-ipvs0 (kube-proxy binds no external or load-balancer IP that some other
 * interface of the node has).
 */
export function ipvsFilterRejects(node: u32, dst: u32, dport: u32): bool {
  if (isHealthCheckNodePort(dport) || !isServiceAddress(dst)) return false;
  const flags = localAddressFlags(node, dst);
  return flags == 0 || (flags & ADDR_KUBE_IPVS0) != 0;
}
