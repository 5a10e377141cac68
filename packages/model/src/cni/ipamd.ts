import { KubeNetsimError } from '../errors.js';
import { type CniConfig, warmIPTargetsDefined } from './config.js';
import { type DataStoreStats, DataStore, type Eni, availableAddresses, cidrSize } from './datastore.js';
import { type InstanceLimits, supportsPrefixDelegation } from './instance-limits.js';
import { effectiveENILimit } from './max-pods.js';
import { sha1Hex } from './sha1.js';
import { type AddressOwner, type Ec2AddressError, PREFIX_SIZE, type Vpc, type VpcSubnet, ipText } from './vpc.js';

/** ipamd's timing (`pkg/ipamd/ipamd.go`, `data_store.go`), in simulated seconds. */
export const IPAMD_TIMING = {
  /** `ipPoolMonitorInterval`: the pool check runs every 5 s. */
  poolMonitorInterval: 5,
  /** `decreaseIPPoolInterval`: addresses go back to EC2 at most every 30 s. */
  decreaseIPPoolInterval: 30,
  /** `insufficientCidrErrorCooldown`: no increase for 120 s after a subnet ran out. */
  insufficientCidrErrorCooldown: 120,
  /** `minENILifeTime`: an ENI younger than this is not freed. */
  minENILifeTime: 60,
} as const;

/** Log lines kept per node (the oldest half goes when it fills). */
export const IPAMD_LOG_LINES = 2000;

/** One line of a node's ipamd log, or a Kubernetes-style event the CNI caused. */
export interface IpamdLogLine {
  /** Simulated seconds. */
  time: number;
  node: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  /** A short machine-readable tag: `ENIAttached`, `InsufficientFreeAddressesInSubnet`, `NoAvailableIP`, … */
  reason?: string;
}

export interface NodeIpamdOptions {
  nodeName: string;
  instanceType: string;
  limits: InstanceLimits;
  config: CniConfig;
  /** The node's subnet: the primary ENI's. */
  subnet: VpcSubnet;
  /** Custom networking: the ENIConfig's subnet for pod ENIs (undefined when no ENIConfig matched). */
  podSubnet?: VpcSubnet;
  eniConfigName?: string;
  /** The kubelet's max pods: ipamd stops growing the pool once it holds this many addresses. */
  maxPods: number;
}

type Ec2Result<T> = T | Ec2AddressError;
const failed = <T>(r: Ec2Result<T>): r is Ec2AddressError => typeof r === 'string';

/**
 * One node's ipamd: the warm-pool loop (`updateIPPoolIfRequired`) over a {@link DataStore}, calling EC2 (the
 * {@link Vpc}) to attach ENIs and assign or release addresses. Decisions follow `isDatastorePoolTooLow`,
 * `increaseDatastorePool`, `decreaseDatastorePool`, `tryFreeENI` and `datastoreTargetState`.
 */
export class NodeIpamd {
  readonly nodeName: string;
  readonly instanceType: string;
  readonly limits: InstanceLimits;
  readonly config: CniConfig;
  /** Prefix delegation in effect (requested and supported by the instance). */
  readonly prefixDelegation: boolean;
  readonly subnetId: string;
  readonly podSubnetId: string | undefined;
  readonly eniConfigName: string | undefined;
  readonly maxENI: number;
  /** `maxIPsPerENI`: IPv4 − 1 secondary IPs, or (IPv4 − 1) × 16 under prefix delegation. */
  readonly maxIPsPerENI: number;
  /** `maxPrefixesPerENI`: IPv4 − 1 under prefix delegation, else 0. */
  readonly maxPrefixesPerENI: number;
  readonly maxPods: number;
  readonly ds: DataStore;
  readonly log: IpamdLogLine[];
  private lastDecrease: number;
  private lastInsufficientError: number;
  private eniSeq: number;

  private constructor(o: NodeIpamdOptions, state?: Partial<NodeIpamd>) {
    this.nodeName = o.nodeName;
    this.instanceType = o.instanceType;
    this.limits = o.limits;
    this.config = o.config;
    this.subnetId = o.subnet.id;
    this.podSubnetId = o.podSubnet?.id;
    this.eniConfigName = o.eniConfigName;
    this.maxPods = o.maxPods;
    this.prefixDelegation = o.config.enablePrefixDelegation && supportsPrefixDelegation(o.limits);
    this.maxENI = effectiveENILimit(o.limits, o.config.maxENI);
    const slots = o.limits.ipv4PerEni - 1;
    this.maxPrefixesPerENI = this.prefixDelegation ? slots : 0;
    this.maxIPsPerENI = this.prefixDelegation ? slots * PREFIX_SIZE : slots;
    this.ds = state?.ds ?? new DataStore(this.prefixDelegation, o.config.ipCooldownPeriod);
    this.log = state?.log ?? [];
    this.lastDecrease = -Infinity;
    this.lastInsufficientError = -Infinity;
    this.eniSeq = 0;
  }

  /**
   * Launches the node: EC2 gives the primary ENI its primary IP (the node IP) from the node's subnet, or takes
   * `internalIP` when the input says which it is; then ipamd's `nodeInit` grows the pool once.
   */
  static launch(vpc: Vpc, o: NodeIpamdOptions, now: number, internalIP?: number): NodeIpamd {
    const node = new NodeIpamd(o);
    let primaryIP: number;
    if (internalIP !== undefined) {
      if (!vpc.claimAddress(internalIP)) {
        throw new KubeNetsimError('E_NODE_IP_TAKEN', `Node IP ${ipText(internalIP)} is not free in subnet ${o.subnet.id} (${o.subnet.cidr.toString()})`, {
          object: `Node ${o.nodeName}`,
          hint: 'two nodes (or a node and an ENI) cannot share an address; check status.addresses',
        });
      }
      primaryIP = internalIP;
    } else {
      const got = vpc.takeAddresses(o.subnet, 1);
      if (failed(got)) {
        throw new KubeNetsimError('E_SUBNET_FULL', `Subnet ${o.subnet.id} (${o.subnet.cidr.toString()}) has no free address for node ${o.nodeName}'s primary ENI (EC2: InsufficientFreeAddressesInSubnet)`, {
          object: `Node ${o.nodeName}`,
          hint: 'use a larger subnet, add subnets, or lower WARM_ENI_TARGET / set WARM_IP_TARGET so nodes hold fewer idle addresses',
        });
      }
      primaryIP = got[0]!;
    }
    const eni = node.newENI(vpc, 0, o.subnet.id, primaryIP, now, true);
    node.ds.addENI(eni);
    if (o.config.enablePrefixDelegation && !node.prefixDelegation) {
      node.note(now, 'warn', `Prefix delegation is not supported on non-nitro instance ${o.instanceType} hence falling back to default (secondary IP) mode`, 'PrefixDelegationUnsupported');
    }
    for (const w of o.config.warnings) node.note(now, 'warn', w, 'ConfigFallback');
    if (o.config.customNetworking && !o.podSubnet) {
      node.note(now, 'error', `Failed to get pod ENI config: no ENIConfig ${JSON.stringify(o.eniConfigName ?? 'default')} for this node`, 'ENIConfigNotFound');
    }
    node.note(
      now,
      'info',
      `IP pool manager - max pods: ${node.maxPods}, warm IP target: ${o.config.warmIPTarget}, warm prefix target: ${o.config.warmPrefixTarget}, warm ENI target: ${o.config.warmENITarget}, minimum IP target: ${o.config.minimumIPTarget}`,
    );
    if (!o.config.disableENIProvisioning && node.isPoolTooLow(node.ds.stats(now))) node.increase(vpc, now);
    return node;
  }

  /** The primary ENI's primary IP. */
  get nodeIP(): number {
    return this.ds.enis.find((e) => e.isPrimary)!.primaryIP;
  }

  private note(time: number, level: IpamdLogLine['level'], message: string, reason?: string): void {
    this.log.push({ time, node: this.nodeName, level, message, ...(reason ? { reason } : {}) });
    // A pod retried every tick logs forever: keep the latest lines, as a rotated log file would.
    if (this.log.length > IPAMD_LOG_LINES) this.log.splice(0, this.log.length - IPAMD_LOG_LINES / 2);
  }

  private eniOwner(eni: Eni, kind: AddressOwner['kind']): AddressOwner {
    return { kind, subnetId: eni.subnetId, nodeName: this.nodeName, eniId: eni.id, deviceIndex: eni.deviceIndex };
  }

  private newENI(vpc: Vpc, deviceIndex: number, subnetId: string, primaryIP: number, now: number, isPrimary: boolean): Eni {
    const id = `eni-${sha1Hex(`${this.nodeName}#${this.eniSeq++}`).slice(0, 17)}`;
    const eni: Eni = { id, deviceIndex, subnetId, primaryIP, isPrimary, createdAt: now, cidrs: [] };
    vpc.own(primaryIP, 32, this.eniOwner(eni, 'eni-primary'));
    return eni;
  }

  private addAddresses(vpc: Vpc, eni: Eni, bases: number[]): void {
    for (const base of bases) {
      if (this.prefixDelegation) {
        this.ds.addCidr(eni, base, 28);
        vpc.own(base, 28, this.eniOwner(eni, 'prefix'));
      } else {
        this.ds.addCidr(eni, base, 32);
        vpc.own(base, 32, this.eniOwner(eni, 'secondary-ip'));
      }
    }
  }

  // ---- warm-pool arithmetic ----------------------------------------------------------------------------------

  /** `datastoreTargetState`: how many IPs (prefixes under PD) the pool is short of / over the WARM IP targets. */
  targetState(stats: DataStoreStats): { short: number; over: number; enabled: boolean } {
    const c = this.config;
    if (!warmIPTargetsDefined(c)) return { short: 0, over: 0, enabled: false };
    const available = availableAddresses(stats);
    let short = Math.max(c.warmIPTarget - available, 0);
    short = Math.max(short, c.minimumIPTarget - stats.totalIPs);
    let over = Math.max(available - c.warmIPTarget, 0);
    over = Math.max(Math.min(over, stats.totalIPs - c.minimumIPTarget), 0);
    if (this.prefixDelegation) {
      const shortPrefix = Math.ceil(short / PREFIX_SIZE);
      const neededForWarm = Math.ceil((stats.assignedIPs + c.warmIPTarget) / PREFIX_SIZE);
      const neededForMin = Math.ceil(c.minimumIPTarget / PREFIX_SIZE);
      let overPrefix = Math.max(Math.min(this.ds.freePrefixes(), stats.totalPrefixes - neededForWarm), 0);
      overPrefix = Math.max(Math.min(overPrefix, stats.totalPrefixes - neededForMin), 0);
      return { short: shortPrefix, over: overPrefix, enabled: true };
    }
    return { short, over, enabled: true };
  }

  /** `isDatastorePoolTooLow`. */
  isPoolTooLow(stats: DataStoreStats): boolean {
    if (stats.totalIPs >= this.maxPods) return false;
    const t = this.targetState(stats);
    if (t.enabled) return t.short > 0;
    const warmTarget = this.prefixDelegation ? this.config.warmPrefixTarget : this.config.warmENITarget;
    const perUnit = this.prefixDelegation ? PREFIX_SIZE : this.maxIPsPerENI;
    const available = availableAddresses(stats);
    return available < perUnit * warmTarget || (warmTarget === 0 && available === 0);
  }

  /** `isDatastorePoolTooHigh`: only with WARM IP targets, or under PD with more free prefixes than WARM_PREFIX_TARGET. */
  isPoolTooHigh(stats: DataStoreStats): boolean {
    const t = this.targetState(stats);
    if (t.enabled) return t.over > 0;
    if (this.prefixDelegation) return this.ds.freePrefixes() > this.config.warmPrefixTarget;
    return false;
  }

  /** `shouldRemoveExtraENIs`. */
  shouldRemoveExtraENIs(stats: DataStoreStats): boolean {
    if (warmIPTargetsDefined(this.config)) return true;
    const warmTarget = (this.prefixDelegation ? this.config.warmPrefixTarget : this.config.warmENITarget) + 1;
    if (availableAddresses(stats) >= warmTarget * this.maxIPsPerENI) return true;
    return this.prefixDelegation && this.ds.enis.some((e) => !e.isPrimary && this.ds.eniAssigned(e) === 0);
  }

  /** `getPrefixesNeeded`. */
  private prefixesNeeded(now: number): number {
    const t = this.targetState(this.ds.stats(now));
    if (t.enabled) return Math.max(1, t.short);
    return Math.max(1, this.config.warmPrefixTarget - this.ds.freePrefixes());
  }

  /** `hasRoomForEni`: the ENI limit (MAX_ENI capped), minus a slot kept for the trunk ENI under ENABLE_POD_ENI. */
  hasRoomForEni(): boolean {
    return this.ds.enis.length < this.maxENI - (this.config.enablePodENI ? 1 : 0);
  }

  // ---- the loop -----------------------------------------------------------------------------------------------

  /** One run of `updateIPPoolIfRequired` at simulated second `now`. */
  tick(vpc: Vpc, now: number): void {
    if (this.config.disableENIProvisioning) return;
    const stats = this.ds.stats(now);
    let scaledDown = false;
    if (this.isPoolTooLow(stats)) {
      this.increase(vpc, now);
    } else if (this.isPoolTooHigh(stats) && now - this.lastDecrease > IPAMD_TIMING.decreaseIPPoolInterval) {
      scaledDown = true;
      this.decrease(vpc, now);
    }
    if (this.shouldRemoveExtraENIs(stats)) this.tryFreeENI(vpc, now);
    if (scaledDown) this.lastDecrease = now;
  }

  /** `increaseDatastorePool`: fill existing ENIs first; only if nothing was added, attach one ENI. */
  private increase(vpc: Vpc, now: number): void {
    if (now - this.lastInsufficientError < IPAMD_TIMING.insufficientCidrErrorCooldown) return;
    const result = this.tryAssignCidrs(vpc, now);
    if (result === 'insufficient') {
      this.subnetShortage(now);
      return;
    }
    if (result === 'increased') return;
    if (!this.hasRoomForEni()) return;
    this.tryAllocateENI(vpc, now);
  }

  private subnetShortage(now: number): void {
    this.lastInsufficientError = now;
    this.note(
      now,
      'error',
      "Unable to attach IPs/Prefixes for the ENI, subnet doesn't seem to have enough IPs/Prefixes. Consider using new subnet or carve a reserved range using create-subnet-cidr-reservation",
      'InsufficientFreeAddressesInSubnet',
    );
  }

  /** `tryAssignIPs` / `tryAssignPrefixes` on the first ENI below its maximum. */
  private tryAssignCidrs(vpc: Vpc, now: number): 'increased' | 'none' | 'insufficient' {
    const pd = this.prefixDelegation;
    let toAllocate: number;
    if (pd) {
      toAllocate = this.prefixesNeeded(now);
    } else {
      const t = this.targetState(this.ds.stats(now));
      if (t.enabled && t.short === 0) return 'none';
      toAllocate = t.enabled ? t.short : this.maxIPsPerENI;
    }
    const perENI = pd ? this.maxPrefixesPerENI : this.maxIPsPerENI;
    for (const eni of this.ds.enis) {
      if (this.config.customNetworking && eni.isPrimary) continue;
      if (eni.cidrs.length >= perENI) continue;
      const subnet = vpc.subnet(eni.subnetId)!;
      const want = Math.min(perENI - eni.cidrs.length, toAllocate);
      const take = (n: number) => (pd ? vpc.takePrefixes(subnet, n) : vpc.takeAddresses(subnet, n));
      let got = take(want);
      if (failed(got) && want > 1) {
        this.note(now, 'warn', `failed to allocate all available ${pd ? 'IPv4 Prefixes' : 'IP addresses'} on ENI ${eni.id}, err: ${got}`);
        got = take(1);
      }
      if (failed(got)) {
        if (this.config.subnetDiscovery) continue;
        return 'insufficient';
      }
      this.addAddresses(vpc, eni, got);
      this.note(
        now,
        'info',
        `Added ${got.length} ${pd ? 'prefix(es)' : 'secondary IP(s)'} to ENI ${eni.id} (eth${eni.deviceIndex}): ${got.map((b) => `${ipText(b)}/${pd ? 28 : 32}`).join(', ')}`,
        pd ? 'PrefixesAssigned' : 'IPsAssigned',
      );
      return 'increased';
    }
    return 'none';
  }

  /** `GetENIResourcesToAllocate`. */
  private eniResourcesToAllocate(now: number): number {
    if (this.prefixDelegation) return Math.min(this.prefixesNeeded(now), this.maxPrefixesPerENI);
    const t = this.targetState(this.ds.stats(now));
    return t.enabled ? Math.min(t.short, this.maxIPsPerENI) : this.maxIPsPerENI;
  }

  /** `tryAllocateENI`: CreateNetworkInterface with its addresses in one call, then attach at the lowest free device index. */
  private tryAllocateENI(vpc: Vpc, now: number): void {
    let subnet = vpc.subnet(this.subnetId)!;
    if (this.config.customNetworking) {
      if (!this.podSubnetId) {
        this.note(now, 'error', 'Failed to get pod ENI config', 'ENIConfigNotFound');
        return;
      }
      subnet = vpc.subnet(this.podSubnetId)!;
      const home = vpc.subnet(this.subnetId)!;
      if (subnet.zone !== home.zone) {
        // EC2 creates the ENI but cannot attach it to an instance in another zone.
        this.note(
          now,
          'error',
          `Failed to attach ENI in subnet ${subnet.id} (${subnet.zone}) to an instance in ${home.zone}: InvalidParameterCombination: the ENI and the instance are not in the same availability zone`,
          'ENIConfigZoneMismatch',
        );
        return;
      }
    }
    const count = this.eniResourcesToAllocate(now);
    if (count <= 0) return;
    const primary = vpc.takeAddresses(subnet, 1);
    const rest = failed(primary) ? primary : this.prefixDelegation ? vpc.takePrefixes(subnet, count) : vpc.takeAddresses(subnet, count);
    if (failed(primary) || failed(rest)) {
      if (!failed(primary)) vpc.releaseAddresses(primary[0]!);
      const code = failed(rest) ? rest : 'InsufficientFreeAddressesInSubnet';
      this.note(now, 'error', `Failed to allocate ${count} ${this.prefixDelegation ? 'prefixes' : 'IP addresses'} on an ENI in subnet ${subnet.id}: ${code}`, code);
      this.subnetShortage(now);
      return;
    }
    const used = new Set(this.ds.enis.map((e) => e.deviceIndex));
    let device = 1;
    while (used.has(device)) device++;
    const eni = this.newENI(vpc, device, subnet.id, primary[0]!, now, false);
    this.ds.addENI(eni);
    this.addAddresses(vpc, eni, rest);
    this.note(
      now,
      'info',
      `Attached ENI ${eni.id} as eth${device} in subnet ${subnet.id} with primary IP ${ipText(eni.primaryIP)} and ${rest.length} ${this.prefixDelegation ? 'prefix(es)' : 'secondary IP(s)'}`,
      'ENIAttached',
    );
  }

  /** `tryUnassignCidrsFromAll`: free up to `over` unused /32s or /28s, ENI by ENI (highest device first). */
  private decrease(vpc: Vpc, now: number): void {
    let { over, enabled } = this.targetState(this.ds.stats(now));
    if (!enabled) over = this.prefixDelegation ? Math.max(this.ds.freePrefixes() - this.config.warmPrefixTarget, 0) : 0;
    if (over <= 0) return;
    for (const eni of [...this.ds.enis].reverse()) {
      const freeable = this.ds.freeableCidrs(eni).sort((a, b) => b.base - a.base).slice(0, over);
      if (freeable.length === 0) continue;
      for (const cidr of freeable) {
        this.ds.removeCidr(eni, cidr.base);
        vpc.disown(cidr.base, cidr.prefixLength);
        vpc.releaseAddresses(cidr.base, cidrSize(cidr));
      }
      this.note(
        now,
        'info',
        `Returned ${freeable.length} ${this.prefixDelegation ? 'prefix(es)' : 'IP(s)'} of ENI ${eni.id} to EC2: ${freeable.map((c) => `${ipText(c.base)}/${c.prefixLength}`).join(', ')}`,
        'IPsReleased',
      );
      over -= freeable.length;
      if (over <= 0) break;
    }
  }

  /** `getDeletableENI`. */
  private deletableENI(now: number): Eni | undefined {
    const c = this.config;
    for (const eni of [...this.ds.enis].reverse()) {
      if (eni.isPrimary) continue;
      if (now - eni.createdAt < IPAMD_TIMING.minENILifeTime) continue;
      if (this.ds.eniHasCooling(eni, now)) continue;
      if (this.ds.eniAssigned(eni) > 0) continue;
      if (c.warmIPTarget !== 0) {
        const target = this.prefixDelegation ? Math.ceil(c.warmIPTarget / PREFIX_SIZE) * PREFIX_SIZE : c.warmIPTarget;
        if (this.ds.warmIPsExcept(eni) < target) continue;
      }
      if (c.minimumIPTarget !== 0) {
        const target = this.prefixDelegation ? Math.ceil(c.minimumIPTarget / PREFIX_SIZE) * PREFIX_SIZE : c.minimumIPTarget;
        if (this.ds.totalIPsExcept(eni) < target) continue;
      }
      if (this.prefixDelegation && c.warmPrefixTarget !== 0 && this.ds.freePrefixesExcept(eni) < c.warmPrefixTarget) continue;
      return eni;
    }
    return undefined;
  }

  /** `tryFreeENI`: detach one ENI, giving all its addresses back to its subnet. */
  private tryFreeENI(vpc: Vpc, now: number): void {
    const eni = this.deletableENI(now);
    if (!eni) return;
    this.detach(vpc, eni);
    this.note(now, 'info', `Freed ENI ${eni.id} (eth${eni.deviceIndex}) and its ${eni.cidrs.length} ${this.prefixDelegation ? 'prefix(es)' : 'secondary IP(s)'}`, 'ENIFreed');
  }

  private detach(vpc: Vpc, eni: Eni): void {
    for (const cidr of eni.cidrs) {
      // A /32's pod entry and its secondary-IP entry share one key; a /28's pod entries are their own.
      if (cidr.prefixLength === 28) for (const a of cidr.addresses.values()) vpc.disown(a.ip, 32);
      vpc.disown(cidr.base, cidr.prefixLength);
      vpc.releaseAddresses(cidr.base, cidrSize(cidr));
    }
    vpc.disown(eni.primaryIP, 32);
    vpc.releaseAddresses(eni.primaryIP);
    this.ds.removeENI(eni.id);
  }

  /** The instance terminates: every ENI (the CNI's are DeleteOnTermination) and address goes back to EC2. */
  terminate(vpc: Vpc): void {
    for (const eni of [...this.ds.enis]) this.detach(vpc, eni);
  }

  // ---- CNI ADD / DEL ------------------------------------------------------------------------------------------

  /** CNI ADD → `AssignPodIPv4Address`; undefined when the datastore has no assignable address. */
  assignPodIP(vpc: Vpc, podKey: string, now: number): number | undefined {
    const got = this.ds.assign(podKey, now);
    if (!got) {
      this.note(now, 'error', 'DataStore has no available IP/Prefix addresses', 'NoAvailableIP');
      return undefined;
    }
    vpc.own(got.ip, 32, { ...this.eniOwner(got.eni, 'pod'), podKey });
    return got.ip;
  }

  /**
   * Records an address a pod is observed to hold (a dump of a real cluster). When none of this node's ENIs has it yet
   * and EC2 still has it (its /28 under prefix delegation) free, it joins an ENI of its subnet: in a free slot, else
   * in place of a secondary IP or prefix no pod ever used, which goes back to EC2 — observed state wins, and the node
   * keeps as many addresses as ipamd chose.
   */
  claimPodIP(vpc: Vpc, podKey: string, ip: number): boolean {
    let eni = this.ds.claim(podKey, ip);
    if (!eni && this.adoptAddress(vpc, ip)) eni = this.ds.claim(podKey, ip);
    if (!eni) return false;
    vpc.own(ip, 32, { ...this.eniOwner(eni, 'pod'), podKey });
    return true;
  }

  private adoptAddress(vpc: Vpc, ip: number): boolean {
    const subnet = vpc.subnetOf(ip);
    if (!subnet) return false;
    const pd = this.prefixDelegation;
    const size = pd ? PREFIX_SIZE : 1;
    const base = pd ? (ip & ~(PREFIX_SIZE - 1)) >>> 0 : ip;
    for (let i = 0; i < size; i++) if (!subnet.pool.isFree(base + i - subnet.cidr.base)) return false;
    const candidates = this.ds.enis.filter((e) => e.subnetId === subnet.id && !(this.config.customNetworking && e.isPrimary));
    const perENI = pd ? this.maxPrefixesPerENI : this.maxIPsPerENI;
    let target = candidates.find((e) => e.cidrs.length < perENI);
    if (!target) {
      for (const e of [...candidates].reverse()) {
        const spare = [...e.cidrs].reverse().find((c) => c.addresses.size === 0);
        if (!spare) continue;
        this.ds.removeCidr(e, spare.base);
        vpc.disown(spare.base, spare.prefixLength);
        vpc.releaseAddresses(spare.base, cidrSize(spare));
        target = e;
        break;
      }
    }
    if (!target) return false;
    for (let i = 0; i < size; i++) vpc.claimAddress(base + i);
    this.addAddresses(vpc, target, [base]);
    return true;
  }

  /** CNI DEL → `UnassignPodIPAddress`: the address stays on the ENI and cools down. */
  releasePodIP(vpc: Vpc, podKey: string, now: number): void {
    const got = this.ds.unassign(podKey, now);
    if (!got) return;
    if (this.prefixDelegation) vpc.disown(got.ip, 32);
    else vpc.own(got.ip, 32, this.eniOwner(got.eni, 'secondary-ip'));
  }

  clone(): NodeIpamd {
    const copy = Object.create(NodeIpamd.prototype) as NodeIpamd;
    Object.assign(copy, this);
    Object.assign(copy, { ds: this.ds.clone(), log: [...this.log] });
    return copy;
  }
}
