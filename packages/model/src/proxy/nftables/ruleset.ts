// The structure of kube-proxy's nftables table. The builder fills it, the printer turns it into `nft -f` input
// and the evaluator walks it: one structure, so what is printed is what is explained.

/** The address field a match reads: `ip saddr` or `ip daddr`. */
export type NftAddressField = 'saddr' | 'daddr';

/** One match expression of a rule, as kube-proxy's nftables proxier writes them. */
export type NftMatch =
  /** `ct state new` */
  | { readonly type: 'ct-state-new' }
  /** `ip daddr 172.30.0.41`, `ip saddr != 10.0.0.0/8` (an address or a CIDR). */
  | { readonly type: 'address'; readonly field: NftAddressField; readonly negate: boolean; readonly value: string }
  /** `ip daddr { 172.30.0.0/16 }`, `ip saddr != { 203.0.113.0/25 , 1.2.3.4 }` (anonymous set). */
  | {
      readonly type: 'address-list';
      readonly field: NftAddressField;
      readonly negate: boolean;
      readonly values: readonly string[];
      /** Printed `{ a,b }` (one token, as kube-proxy joins the service CIDRs) instead of `{ a , b }`. */
      readonly compact?: boolean;
    }
  /** `ip daddr @cluster-ips`, `ip saddr @affinity-…` (named set lookup). */
  | { readonly type: 'address-in-set'; readonly field: NftAddressField; readonly set: string }
  /** `fib saddr type local`, `fib daddr type local`. */
  | { readonly type: 'fib-local'; readonly field: NftAddressField }
  /** `mark and 0x4000 == 0` */
  | { readonly type: 'mark-unset'; readonly mark: number };

/** What a map element or a verdict statement does. */
export type NftVerdict =
  | { readonly type: 'jump' | 'goto'; readonly chain: string }
  | { readonly type: 'drop' | 'reject' | 'return' };

/** The key a verdict-map lookup is built from. */
export type NftMapKey = 'daddr . l4proto . dport' | 'l4proto . dport';

/** The statement that ends a rule (after its matches). */
export type NftStatement =
  | { readonly type: 'verdict'; readonly verdict: NftVerdict }
  /** `ip daddr . meta l4proto . th dport vmap @service-ips` */
  | { readonly type: 'vmap'; readonly key: NftMapKey; readonly map: string }
  /** `numgen random mod N vmap { 0 : goto A , 1 : goto B }`: endpoint i is chosen with probability 1/N. */
  | { readonly type: 'numgen'; readonly chains: readonly string[] }
  /** `mark set mark or 0x4000` */
  | { readonly type: 'mark-or'; readonly mark: number }
  /** `mark set mark xor 0x4000` */
  | { readonly type: 'mark-xor'; readonly mark: number }
  /** `masquerade fully-random` */
  | { readonly type: 'masquerade' }
  /** `update @affinity-… { ip saddr }` */
  | { readonly type: 'update-set'; readonly set: string }
  /** `meta l4proto tcp dnat to 10.180.0.1:80` */
  | { readonly type: 'dnat'; readonly protocol: NftProtocol; readonly ip: string; readonly port: number };

/** nftables' lower-case protocol names. */
export type NftProtocol = 'tcp' | 'udp' | 'sctp';

export interface NftRule {
  readonly matches: readonly NftMatch[];
  readonly statement: NftStatement;
  readonly comment?: string;
}

/** A base chain's hook. Priorities are numbers because nft 1.0.6 rejects `dstnat` on the output and input hooks. */
export interface NftBaseChain {
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Netfilter priority: −110 (dstnat − 10), −100 (dstnat), 0 (filter), 100 (srcnat). */
  readonly priority: number;
}

export interface NftChain {
  readonly name: string;
  readonly base?: NftBaseChain;
  readonly comment?: string;
  readonly rules: NftRule[];
}

export interface NftSet {
  readonly name: string;
  readonly type: 'ipv4_addr';
  readonly comment?: string;
  /** Affinity sets: `flags dynamic,timeout ; timeout <s>s`; entries are added by the datapath, never by the sync. */
  readonly timeoutSeconds?: number;
  readonly elements: string[];
}

export interface NftMapElement {
  /** Key parts, e.g. `['172.30.0.41', 'tcp', '80']` or `['tcp', '3001']`. */
  readonly key: readonly string[];
  readonly value: NftVerdict;
  readonly comment?: string;
}

export interface NftMap {
  readonly name: string;
  readonly key: NftMapKey;
  readonly comment?: string;
  readonly elements: NftMapElement[];
}

/** kube-proxy's whole `ip kube-proxy` table after one full sync. Insertion order is creation order. */
export interface NftRuleset {
  readonly family: 'ip';
  readonly table: string;
  readonly comment: string;
  readonly sets: Map<string, NftSet>;
  readonly maps: Map<string, NftMap>;
  readonly chains: Map<string, NftChain>;
}
