import type { NftMatch, NftRule, NftRuleset, NftStatement, NftVerdict } from './ruleset.js';

/**
 * kube-proxy's mark as it formats it: Go's `fmt.Sprintf("%#08x", 1<<bit)`, where the zero padding counts digits
 * only, so bit 14 gives `0x00004000` (upstream's unit tests hard-code `0x4000` instead).
 */
export function formatNftMark(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

function verdictText(v: NftVerdict): string {
  return v.type === 'jump' || v.type === 'goto' ? `${v.type} ${v.chain}` : v.type;
}

function matchText(m: NftMatch): string {
  switch (m.type) {
    case 'ct-state-new':
      return 'ct state new';
    case 'address':
      return `ip ${m.field} ${m.negate ? '!= ' : ''}${m.value}`;
    case 'address-list':
      return `ip ${m.field} ${m.negate ? '!= ' : ''}{ ${m.values.join(m.compact ? ',' : ' , ')} }`;
    case 'address-in-set':
      return `ip ${m.field} @${m.set}`;
    case 'fib-local':
      return `fib ${m.field} type local`;
    case 'mark-unset':
      return `mark and ${formatNftMark(m.mark)} == 0`;
  }
}

function statementText(s: NftStatement): string {
  switch (s.type) {
    case 'verdict':
      return verdictText(s.verdict);
    case 'vmap':
      return s.key === 'daddr . l4proto . dport' ? `ip daddr . meta l4proto . th dport vmap @${s.map}` : `meta l4proto . th dport vmap @${s.map}`;
    case 'numgen':
      return `numgen random mod ${s.chains.length} vmap { ${s.chains.map((c, i) => `${i} : goto ${c}`).join(' , ')} }`;
    case 'mark-or':
      return `mark set mark or ${formatNftMark(s.mark)}`;
    case 'mark-xor':
      return `mark set mark xor ${formatNftMark(s.mark)}`;
    case 'masquerade':
      return 'masquerade fully-random';
    case 'update-set':
      return `update @${s.set} { ip saddr }`;
    case 'dnat':
      return `meta l4proto ${s.protocol} dnat to ${s.ip}:${s.port}`;
  }
}

/** Printer options. */
export interface NftPrintOptions {
  /**
   * Put a `counter` statement in every rule, after its matches (so it counts the packets the rule matched). Not
   * something kube-proxy writes: the kernel tests use it to see which rules a connection went through.
   */
  counters?: boolean;
}

/** One rule's text after `add rule ip kube-proxy CHAIN`, e.g. `ip saddr 10.180.0.1 jump mark-for-masquerade`. */
export function nftRuleText(rule: NftRule, options: NftPrintOptions = {}): string {
  const parts = rule.matches.map(matchText);
  const s = rule.statement;
  if (options.counters) {
    // `meta l4proto tcp` in front of `dnat to` is a match: the counter goes after it.
    if (s.type === 'dnat') parts.push(`meta l4proto ${s.protocol} counter dnat to ${s.ip}:${s.port}`);
    else parts.push('counter', statementText(s));
  } else {
    parts.push(statementText(s));
  }
  if (rule.comment !== undefined) parts.push(`comment ${JSON.stringify(rule.comment)}`);
  return parts.join(' ');
}

/**
 * The ruleset as `nft -f` input: table, sets, maps, chains, then each chain's rules, then the set and map
 * elements, so every name is defined before it is used. Loading it into an empty namespace gives the table
 * kube-proxy's full sync leaves behind (its own transaction also flushes what it re-adds).
 */
export function printNftablesRuleset(rs: NftRuleset, options: NftPrintOptions = {}): string {
  const p = `${rs.family} ${rs.table}`;
  const out: string[] = [`add table ${p} { comment ${JSON.stringify(rs.comment)} ; }`];
  for (const set of rs.sets.values()) {
    const opts = [`type ${set.type}`];
    if (set.timeoutSeconds !== undefined) opts.push('flags dynamic,timeout', `timeout ${set.timeoutSeconds}s`);
    if (set.comment !== undefined) opts.push(`comment ${JSON.stringify(set.comment)}`);
    out.push(`add set ${p} ${set.name} { ${opts.join(' ; ')} ; }`);
  }
  for (const map of rs.maps.values()) {
    const type = map.key === 'daddr . l4proto . dport' ? 'ipv4_addr . inet_proto . inet_service' : 'inet_proto . inet_service';
    const comment = map.comment === undefined ? '' : ` comment ${JSON.stringify(map.comment)} ;`;
    out.push(`add map ${p} ${map.name} { type ${type} : verdict ;${comment} }`);
  }
  for (const chain of rs.chains.values()) {
    if (chain.base) {
      out.push(`add chain ${p} ${chain.name} { type ${chain.base.type} hook ${chain.base.hook} priority ${chain.base.priority} ; }`);
    } else if (chain.comment !== undefined) {
      out.push(`add chain ${p} ${chain.name} { comment ${JSON.stringify(chain.comment)} ; }`);
    } else {
      out.push(`add chain ${p} ${chain.name}`);
    }
  }
  for (const chain of rs.chains.values()) {
    for (const rule of chain.rules) out.push(`add rule ${p} ${chain.name} ${nftRuleText(rule, options)}`);
  }
  for (const set of rs.sets.values()) {
    for (const e of set.elements) out.push(`add element ${p} ${set.name} { ${e} }`);
  }
  for (const map of rs.maps.values()) {
    for (const e of map.elements) {
      const comment = e.comment === undefined ? '' : ` comment ${JSON.stringify(e.comment)}`;
      out.push(`add element ${p} ${map.name} { ${e.key.join(' . ')}${comment} : ${verdictText(e.value)} }`);
    }
  }
  return `${out.join('\n')}\n`;
}
