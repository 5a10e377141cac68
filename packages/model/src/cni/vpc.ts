import { KubeNetsimError } from '../errors.js';
import { intToIPv4, ipv4ToInt } from '../ip/address.js';
import { CIDR } from '../ip/cidr.js';
import { MapOwnershipIndex, OWNER_MISS, type OwnershipIndex } from './ownership-index.js';
import { BitmapSlotPool, type SlotPool } from './slot-pool.js';

/** A VPC subnet as the cluster input describes it. */
export interface SubnetSpec {
  id: string;
  cidr: string;
  zone: string;
  public: boolean;
}

/** Addresses AWS keeps in every subnet: network, +1 router, +2 DNS, +3 future use, broadcast. */
export const AWS_RESERVED_PER_SUBNET = 5;
/** Addresses in one prefix-delegation prefix (/28). */
export const PREFIX_SIZE = 16;

/** What EC2 answers when a subnet cannot give what was asked (the error codes ipamd matches on). */
export type Ec2AddressError = 'InsufficientFreeAddressesInSubnet' | 'InsufficientCidrBlocks';

/** Who holds an address (the most specific holder wins a lookup). */
export interface AddressOwner {
  kind: 'subnet' | 'aws-reserved' | 'eni-primary' | 'secondary-ip' | 'prefix' | 'pod';
  subnetId: string;
  nodeName?: string;
  eniId?: string;
  deviceIndex?: number;
  /** `namespace/name` when kind is `pod`. */
  podKey?: string;
}

/** Factories for the hot structures, so the datapath's WASM tables can replace the TypeScript ones. */
export interface VpcBackends {
  /** A slot pool of `size` slots for one subnet. Default: {@link BitmapSlotPool}. */
  slotPool?: (size: number) => SlotPool;
  /** The ownership index of the whole VPC. Default: {@link MapOwnershipIndex}. */
  ownershipIndex?: () => OwnershipIndex;
}

/** One subnet and which of its addresses EC2 has handed out. */
export class VpcSubnet {
  readonly id: string;
  readonly cidr: CIDR;
  readonly zone: string;
  readonly public: boolean;
  /** Slot i is address `cidr.base + i`. */
  readonly pool: SlotPool;

  constructor(spec: SubnetSpec, cidr: CIDR, pool: SlotPool) {
    this.id = spec.id;
    this.cidr = cidr;
    this.zone = spec.zone;
    this.public = spec.public;
    this.pool = pool;
  }

  /** Addresses in the subnet, the five AWS keeps included. */
  get size(): number {
    return this.cidr.size;
  }

  /** Addresses EC2 can still hand out. */
  get freeAddresses(): number {
    return this.pool.freeCount();
  }

  /** Aligned free /28 blocks: how many prefixes prefix delegation can still get. */
  get freePrefixBlocks(): number {
    return this.pool.freeAlignedBlocks(PREFIX_SIZE);
  }

  withPool(pool: SlotPool): VpcSubnet {
    return new VpcSubnet({ id: this.id, cidr: this.cidr.toString(), zone: this.zone, public: this.public }, this.cidr, pool);
  }
}

/**
 * The VPC as EC2 sees it: its CIDR blocks, its subnets' address pools, and who owns which address.
 * ipamd's EC2 calls (AssignPrivateIpAddresses, CreateNetworkInterface, UnassignPrivateIpAddresses, …) land here.
 * EC2 picks the lowest free address (the real one picks any free address).
 */
export class Vpc {
  readonly cidrs: CIDR[];
  readonly subnets: VpcSubnet[];
  private readonly index: OwnershipIndex;
  private readonly owners: Map<number, AddressOwner>;
  private nextOwnerId: number;

  private constructor(cidrs: CIDR[], subnets: VpcSubnet[], index: OwnershipIndex, owners: Map<number, AddressOwner>, nextOwnerId: number) {
    this.cidrs = cidrs;
    this.subnets = subnets;
    this.index = index;
    this.owners = owners;
    this.nextOwnerId = nextOwnerId;
  }

  /** Validates and builds the VPC; every subnet must lie in one of the CIDR blocks and not overlap another. */
  static create(vpcCIDRs: string[], specs: SubnetSpec[], backends: VpcBackends = {}): Vpc {
    if (vpcCIDRs.length === 0) {
      throw new KubeNetsimError('E_VPC_NO_CIDR', 'The VPC has no CIDR block', { hint: 'set vpc.cidr in the eksctl ClusterConfig, e.g. 192.168.0.0/16' });
    }
    const cidrs = vpcCIDRs.map((c) => {
      const cidr = CIDR.parse(c, 'a VPC CIDR block');
      if (cidr.family !== 'IPv4' || cidr.prefixLength < 16 || cidr.prefixLength > 28) {
        throw new KubeNetsimError('E_VPC_CIDR', `VPC CIDR block ${c} must be IPv4 between /16 and /28 (an AWS limit)`);
      }
      return cidr;
    });
    const makePool = backends.slotPool ?? ((size: number) => new BitmapSlotPool(size));
    const index = (backends.ownershipIndex ?? (() => new MapOwnershipIndex()))();
    const vpc = new Vpc(cidrs, [], index, new Map(), 1);
    const seen = new Set<string>();
    for (const spec of specs) {
      const where = `Subnet ${spec.id}`;
      if (seen.has(spec.id)) throw new KubeNetsimError('E_SUBNET_DUPLICATE', `Subnet id ${spec.id} is given twice`, { object: where });
      seen.add(spec.id);
      const cidr = CIDR.parse(spec.cidr, `the CIDR of subnet ${spec.id}`);
      if (cidr.family !== 'IPv4' || cidr.prefixLength < 16 || cidr.prefixLength > 28) {
        throw new KubeNetsimError('E_SUBNET_CIDR', `Subnet CIDR ${spec.cidr} must be IPv4 between /16 and /28 (an AWS limit)`, { object: where });
      }
      if (!cidrs.some((v) => v.covers(cidr))) {
        throw new KubeNetsimError('E_SUBNET_OUTSIDE_VPC', `Subnet CIDR ${spec.cidr} is not inside any VPC CIDR block (${vpcCIDRs.join(', ')})`, {
          object: where,
          hint: 'add the block to vpc.secondaryCIDRs or fix the subnet CIDR',
        });
      }
      const clash = vpc.subnets.find((s) => s.cidr.overlaps(cidr));
      if (clash) {
        throw new KubeNetsimError('E_SUBNET_OVERLAP', `Subnet CIDR ${spec.cidr} overlaps subnet ${clash.id} (${clash.cidr.toString()})`, { object: where });
      }
      const subnet = new VpcSubnet(spec, cidr, makePool(cidr.size));
      vpc.subnets.push(subnet);
      vpc.own(cidr.base, cidr.prefixLength, { kind: 'subnet', subnetId: spec.id });
      for (const offset of [0, 1, 2, 3, cidr.size - 1]) {
        subnet.pool.claim(offset);
        vpc.own(cidr.base + offset, 32, { kind: 'aws-reserved', subnetId: spec.id });
      }
    }
    return vpc;
  }

  subnet(id: string): VpcSubnet | undefined {
    return this.subnets.find((s) => s.id === id);
  }

  /** The subnet holding `ip` (integer form). */
  subnetOf(ip: number): VpcSubnet | undefined {
    return this.subnets.find((s) => s.cidr.containsInt(ip));
  }

  /** Whether `ip` lies in one of the VPC's CIDR blocks. */
  inVpc(ip: number): boolean {
    return this.cidrs.some((c) => c.containsInt(ip));
  }

  /** Who holds `ip` (dotted or integer): the most specific owner in the ownership index. */
  owner(ip: string | number): AddressOwner | undefined {
    const n = typeof ip === 'number' ? ip : ipv4ToInt(ip);
    const id = this.index.lookup(n);
    return id === undefined ? undefined : this.owners.get(id);
  }

  /** `owner` of many addresses (integers) in one pass over the index: the batch path of the datapath's LPM table. */
  ownerOfEach(ips: ArrayLike<number>): (AddressOwner | undefined)[] {
    const ids = this.index.lookupMany(ips);
    const out = new Array<AddressOwner | undefined>(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = ids[i] === OWNER_MISS ? undefined : this.owners.get(ids[i]!);
    return out;
  }

  /** Records `prefix/length → owner` in the index (replacing what was there). */
  own(prefix: number, length: number, owner: AddressOwner): void {
    const id = this.nextOwnerId++;
    this.owners.set(id, owner);
    const previous = this.index.set(prefix >>> 0, length, id);
    if (previous !== undefined) this.owners.delete(previous);
  }

  /** Removes `prefix/length` from the index. */
  disown(prefix: number, length: number): void {
    const previous = this.index.get(prefix >>> 0, length);
    if (previous === undefined) return;
    this.index.delete(prefix >>> 0, length);
    this.owners.delete(previous);
  }

  /** Takes `count` addresses from a subnet, all or none (`AssignPrivateIpAddresses` / `CreateNetworkInterface`). */
  takeAddresses(subnet: VpcSubnet, count: number): number[] | Ec2AddressError {
    if (subnet.pool.freeCount() < count) return 'InsufficientFreeAddressesInSubnet';
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((subnet.cidr.base + subnet.pool.allocate()) >>> 0);
    return out;
  }

  /** Takes `count` aligned /28 blocks from a subnet, all or none. */
  takePrefixes(subnet: VpcSubnet, count: number): number[] | Ec2AddressError {
    if (subnet.pool.freeAlignedBlocks(PREFIX_SIZE) < count) return 'InsufficientCidrBlocks';
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((subnet.cidr.base + subnet.pool.allocateAligned(PREFIX_SIZE)) >>> 0);
    return out;
  }

  /** Takes one given address (observed state); false when it is not free in its subnet. */
  claimAddress(ip: number): boolean {
    const subnet = this.subnetOf(ip);
    return subnet !== undefined && subnet.pool.claim(ip - subnet.cidr.base);
  }

  /** Gives addresses back to their subnet (`count` = 16 for a prefix). */
  releaseAddresses(base: number, count = 1): void {
    const subnet = this.subnetOf(base);
    if (subnet) subnet.pool.release(base - subnet.cidr.base, count);
  }

  clone(): Vpc {
    return new Vpc(
      this.cidrs,
      this.subnets.map((s) => s.withPool(s.pool.clone())),
      this.index.clone(),
      new Map(this.owners),
      this.nextOwnerId,
    );
  }
}

/** Dotted form of an integer IPv4 address. */
export function ipText(ip: number): string {
  return intToIPv4(ip >>> 0);
}
