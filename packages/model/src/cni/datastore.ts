/**
 * ipamd's per-node datastore (`pkg/ipamd/datastore/data_store.go`): the node's ENIs, the /32 secondary IPs or
 * /28 prefixes each holds, and which address each pod sandbox has. Addresses are IPv4 integers; time is
 * simulated seconds.
 */

/** One address ipamd has handed out at least once (untracked addresses of a CIDR are free and never used). */
export interface TrackedAddress {
  ip: number;
  /** `namespace/name` of the pod holding it; undefined when unassigned. */
  podKey: string | undefined;
  /** When it was last unassigned (cooldown starts here). */
  unassignedAt: number | undefined;
  /** Order of assignment on the node (the kernel keeps ip rules of one priority in insertion order). */
  seq: number;
}

/** A /32 secondary IP or a /28 prefix on an ENI. */
export interface EniCidr {
  base: number;
  prefixLength: 32 | 28;
  addresses: Map<number, TrackedAddress>;
}

export interface Eni {
  id: string;
  /** Device index on the instance: 0 is the primary ENI (eth0). */
  deviceIndex: number;
  subnetId: string;
  primaryIP: number;
  isPrimary: boolean;
  /** Simulated second the ENI was attached (an ENI younger than 60 s is not freed). */
  createdAt: number;
  cidrs: EniCidr[];
}

/** `DataStoreStats`: counts over the CIDRs of the current mode (/32s, or /28s under prefix delegation). */
export interface DataStoreStats {
  totalIPs: number;
  totalPrefixes: number;
  assignedIPs: number;
  /** Unassigned addresses still cooling down: counted as available by the warm-pool math, yet not assignable. */
  cooldownIPs: number;
}

export function availableAddresses(stats: DataStoreStats): number {
  return stats.totalIPs - stats.assignedIPs;
}

export function cidrSize(cidr: EniCidr): number {
  return 2 ** (32 - cidr.prefixLength);
}

function assignedIn(cidr: EniCidr): number {
  let n = 0;
  for (const a of cidr.addresses.values()) if (a.podKey !== undefined) n++;
  return n;
}

export class DataStore {
  /** ENIs by ascending device index (ipamd walks a Go map: its order is random; this one is deterministic). */
  readonly enis: Eni[];
  readonly prefixDelegation: boolean;
  /** `IP_COOLDOWN_PERIOD` in seconds. */
  readonly cooldownPeriod: number;
  private seq: number;

  constructor(prefixDelegation: boolean, cooldownPeriod: number, enis: Eni[] = [], seq = 0) {
    this.prefixDelegation = prefixDelegation;
    this.cooldownPeriod = cooldownPeriod;
    this.enis = enis;
    this.seq = seq;
  }

  private inMode(cidr: EniCidr): boolean {
    return (cidr.prefixLength === 28) === this.prefixDelegation;
  }

  isCooling(address: TrackedAddress, now: number): boolean {
    return address.podKey === undefined && address.unassignedAt !== undefined && now - address.unassignedAt < this.cooldownPeriod;
  }

  addENI(eni: Eni): void {
    this.enis.push(eni);
    this.enis.sort((a, b) => a.deviceIndex - b.deviceIndex);
  }

  removeENI(id: string): Eni | undefined {
    const i = this.enis.findIndex((e) => e.id === id);
    if (i < 0) return undefined;
    return this.enis.splice(i, 1)[0];
  }

  eni(id: string): Eni | undefined {
    return this.enis.find((e) => e.id === id);
  }

  addCidr(eni: Eni, base: number, prefixLength: 32 | 28): void {
    eni.cidrs.push({ base: base >>> 0, prefixLength, addresses: new Map() });
  }

  removeCidr(eni: Eni, base: number): void {
    const i = eni.cidrs.findIndex((c) => c.base === base);
    if (i >= 0) eni.cidrs.splice(i, 1);
  }

  stats(now: number): DataStoreStats {
    const s: DataStoreStats = { totalIPs: 0, totalPrefixes: 0, assignedIPs: 0, cooldownIPs: 0 };
    for (const eni of this.enis) {
      for (const cidr of eni.cidrs) {
        if (cidr.prefixLength === 28) s.totalPrefixes++;
        if (!this.inMode(cidr)) continue;
        s.totalIPs += cidrSize(cidr);
        for (const a of cidr.addresses.values()) {
          if (a.podKey !== undefined) s.assignedIPs++;
          else if (this.isCooling(a, now)) s.cooldownIPs++;
        }
      }
    }
    return s;
  }

  /** Prefixes with no assigned address (`GetFreePrefixes`). */
  freePrefixes(): number {
    let n = 0;
    for (const eni of this.enis) for (const c of eni.cidrs) if (c.prefixLength === 28 && assignedIn(c) === 0) n++;
    return n;
  }

  eniAssigned(eni: Eni): number {
    let n = 0;
    for (const c of eni.cidrs) n += assignedIn(c);
    return n;
  }

  eniHasCooling(eni: Eni, now: number): boolean {
    for (const c of eni.cidrs) for (const a of c.addresses.values()) if (this.isCooling(a, now)) return true;
    return false;
  }

  /** CIDRs of an ENI with no pod (`FindFreeableCidrs`: cooling addresses do not protect a CIDR). */
  freeableCidrs(eni: Eni): EniCidr[] {
    return eni.cidrs.filter((c) => assignedIn(c) === 0);
  }

  /** Free addresses of the ENIs other than `eni` (`isRequiredForWarmIPTarget`: cooling ones count). */
  warmIPsExcept(eni: Eni): number {
    let n = 0;
    for (const other of this.enis) {
      if (other === eni) continue;
      for (const c of other.cidrs) if (this.inMode(c)) n += cidrSize(c) - assignedIn(c);
    }
    return n;
  }

  totalIPsExcept(eni: Eni): number {
    let n = 0;
    for (const other of this.enis) if (other !== eni) for (const c of other.cidrs) if (this.inMode(c)) n += cidrSize(c);
    return n;
  }

  freePrefixesExcept(eni: Eni): number {
    let n = 0;
    for (const other of this.enis) if (other !== eni) for (const c of other.cidrs) if (assignedIn(c) === 0) n++;
    return n;
  }

  find(podKey: string): { eni: Eni; cidr: EniCidr; address: TrackedAddress } | undefined {
    for (const eni of this.enis) {
      for (const cidr of eni.cidrs) {
        for (const address of cidr.addresses.values()) if (address.podKey === podKey) return { eni, cidr, address };
      }
    }
    return undefined;
  }

  /**
   * `AssignPodIPv4Address`: idempotent per pod; otherwise the first CIDR of the mode with an address that is
   * neither assigned nor cooling (`getUnusedIP`: a known address out of cooldown first, else the lowest untracked one).
   */
  assign(podKey: string, now: number): { eni: Eni; ip: number } | undefined {
    const existing = this.find(podKey);
    if (existing) return { eni: existing.eni, ip: existing.address.ip };
    for (const eni of this.enis) {
      for (const cidr of eni.cidrs) {
        if (!this.inMode(cidr)) continue;
        const ip = this.unusedIP(cidr, now);
        if (ip === undefined) continue;
        const address = cidr.addresses.get(ip) ?? { ip, podKey: undefined, unassignedAt: undefined, seq: 0 };
        address.podKey = podKey;
        address.seq = ++this.seq;
        cidr.addresses.set(ip, address);
        return { eni, ip };
      }
    }
    return undefined;
  }

  private unusedIP(cidr: EniCidr, now: number): number | undefined {
    let reusable: number | undefined;
    for (const a of cidr.addresses.values()) {
      if (a.podKey === undefined && !this.isCooling(a, now) && (reusable === undefined || a.ip < reusable)) reusable = a.ip;
    }
    if (reusable !== undefined) return reusable;
    const size = cidrSize(cidr);
    for (let i = 0; i < size; i++) {
      const ip = (cidr.base + i) >>> 0;
      if (!cidr.addresses.has(ip)) return ip;
    }
    return undefined;
  }

  /** Marks a given address as the pod's (observed state). False when no CIDR of the node holds it or it is taken. */
  claim(podKey: string, ip: number): Eni | undefined {
    for (const eni of this.enis) {
      for (const cidr of eni.cidrs) {
        if (ip < cidr.base || ip >= cidr.base + cidrSize(cidr)) continue;
        const known = cidr.addresses.get(ip);
        if (known?.podKey !== undefined) return undefined;
        cidr.addresses.set(ip, { ip, podKey, unassignedAt: undefined, seq: ++this.seq });
        return eni;
      }
    }
    return undefined;
  }

  /** `UnassignPodIPAddress`: the address stays on the ENI, cooling down from `now`. */
  unassign(podKey: string, now: number): { eni: Eni; ip: number } | undefined {
    const found = this.find(podKey);
    if (!found) return undefined;
    found.address.podKey = undefined;
    found.address.unassignedAt = now;
    return { eni: found.eni, ip: found.address.ip };
  }

  clone(): DataStore {
    const enis = this.enis.map((e) => ({
      ...e,
      cidrs: e.cidrs.map((c) => ({ ...c, addresses: new Map([...c.addresses].map(([k, a]) => [k, { ...a }])) })),
    }));
    return new DataStore(this.prefixDelegation, this.cooldownPeriod, enis, this.seq);
  }
}
