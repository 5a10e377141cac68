import { KubeNetsimError } from '../../errors.js';
import { CIDR } from '../../ip/cidr.js';

// iptables-save / iptables-restore text → tables, chains and parsed rules the interpreter evaluates.

/** A parsed address match (`-s`/`-d`): a prefix, possibly negated. */
export interface AddressMatch {
  negated: boolean;
  cidr: CIDR;
}

/** One match of a rule, already parsed. */
export type Match =
  | { kind: 'source'; m: AddressMatch }
  | { kind: 'destination'; m: AddressMatch }
  | { kind: 'protocol'; negated: boolean; protocol: string }
  | { kind: 'in-interface' | 'out-interface'; negated: boolean; name: string }
  | { kind: 'port'; which: 'dport' | 'sport'; negated: boolean; from: number; to: number }
  | { kind: 'multiport'; which: 'dport' | 'sport'; negated: boolean; ranges: [number, number][] }
  | { kind: 'addrtype'; which: 'src' | 'dst'; negated: boolean; types: string[] }
  | { kind: 'statistic'; mode: 'random'; probability: number }
  | { kind: 'statistic'; mode: 'nth'; every: number; packet: number }
  | { kind: 'recent'; name: string; action: 'rcheck' | 'update' | 'set' | 'remove'; negated: boolean; seconds: number | undefined; reap: boolean; rdest: boolean }
  | { kind: 'mark' | 'connmark'; negated: boolean; value: number; mask: number }
  | { kind: 'ctstate'; negated: boolean; states: string[] }
  | { kind: 'comment'; text: string }
  | { kind: 'nfacct'; name: string };

/** A rule's target (`-j`) or goto (`-g`) with its options. */
export interface Target {
  name: string;
  goto: boolean;
  /** Target options as given, e.g. `{'--to-destination': '10.0.0.1:80'}`; flags map to ''. */
  options: Record<string, string>;
}

/** One `-A` rule. */
export interface Rule {
  table: string;
  chain: string;
  /** 1-based position in its chain (what `iptables -L --line-numbers` shows). */
  index: number;
  /** The rule as written, from `-A` on (without a `[pkts:bytes]` counter prefix). */
  text: string;
  /** `-t TABLE -A CHAIN …`: the rule as an iptables command. */
  command: string;
  matches: Match[];
  target: Target | undefined;
}

export interface Chain {
  name: string;
  /** `ACCEPT`/`DROP` for built-in chains, `-` for user chains. */
  policy: string;
  rules: Rule[];
}

export interface Table {
  name: string;
  chains: Map<string, Chain>;
}

/** A parsed ruleset: tables by name, chains in declaration order. */
export interface IptablesRuleset {
  tables: Map<string, Table>;
}

const BUILTIN_CHAINS: Record<string, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Splits an iptables line into words; `"…"` quotes group (with `\"` escapes), as iptables-restore reads them. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let word = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const ch = line[i]!;
      if (ch === '\\' && line[i + 1] === '"') {
        word += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = !quoted;
      else word += ch;
      i++;
    }
    words.push(word);
  }
  return words;
}

function parseError(message: string, lineNo: number, line: string): KubeNetsimError {
  return new KubeNetsimError('E_IPTABLES_PARSE', `line ${lineNo}: ${message}: ${line}`, {
    hint: 'the interpreter reads iptables-save output or iptables-restore input (*table, :CHAIN, -A rules, COMMIT)',
  });
}

function parseAddress(text: string, negated: boolean): AddressMatch {
  return { negated, cidr: CIDR.parse(text.includes('/') ? text : `${text}/32`) };
}

function parsePortRange(text: string): [number, number] {
  const [a, b] = text.split(':');
  const from = a === '' || a === undefined ? 0 : Number(a);
  const to = b === undefined ? from : b === '' ? 65535 : Number(b);
  if (!Number.isInteger(from) || !Number.isInteger(to)) throw new Error(`bad port ${text}`);
  return [from, to];
}

function parseMark(text: string): { value: number; mask: number } {
  const [v, m] = text.split('/');
  return { value: Number(v) >>> 0, mask: m === undefined ? 0xffffffff : Number(m) >>> 0 };
}

/** Parses the words of one rule after `-A CHAIN`. */
export function parseRuleWords(table: string, chain: string, index: number, text: string, words: readonly string[]): Rule {
  const matches: Match[] = [];
  let target: Target | undefined;
  let negated = false;
  let module = '';
  let statMode = '';
  const stat: { probability?: number; every?: number; packet?: number } = {};
  let recent: Extract<Match, { kind: 'recent' }> | undefined;
  const take = (i: number) => {
    const v = words[i + 1];
    if (v === undefined) throw new Error(`option ${words[i]} needs a value`);
    return v;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (target) {
      // Everything after -j belongs to the target.
      if (w.startsWith('--')) {
        const next = words[i + 1];
        if (next !== undefined && !next.startsWith('--')) {
          target.options[w] = next;
          i++;
        } else target.options[w] = '';
      }
      continue;
    }
    if (w === '!') {
      negated = true;
      continue;
    }
    const neg = negated;
    negated = false;
    switch (w) {
      case '-s':
      case '--source':
        matches.push({ kind: 'source', m: parseAddress(take(i++), neg) });
        break;
      case '-d':
      case '--destination':
        matches.push({ kind: 'destination', m: parseAddress(take(i++), neg) });
        break;
      case '-p':
      case '--protocol':
        matches.push({ kind: 'protocol', negated: neg, protocol: take(i++).toLowerCase() });
        break;
      case '-i':
      case '--in-interface':
        matches.push({ kind: 'in-interface', negated: neg, name: take(i++) });
        break;
      case '-o':
      case '--out-interface':
        matches.push({ kind: 'out-interface', negated: neg, name: take(i++) });
        break;
      case '-m':
      case '--match':
        module = take(i++);
        if (module === 'recent') {
          recent = { kind: 'recent', name: 'DEFAULT', action: 'set', negated: false, seconds: undefined, reap: false, rdest: false };
          matches.push(recent);
        }
        break;
      case '-j':
      case '--jump':
      case '-g':
      case '--goto':
        target = { name: take(i++), goto: w === '-g' || w === '--goto', options: {} };
        break;
      case '--dport':
      case '--destination-port':
      case '--sport':
      case '--source-port': {
        const [from, to] = parsePortRange(take(i++));
        matches.push({ kind: 'port', which: w.includes('d') && !w.includes('source') ? 'dport' : 'sport', negated: neg, from, to });
        break;
      }
      case '--dports':
      case '--destination-ports':
      case '--sports':
      case '--source-ports':
        matches.push({ kind: 'multiport', which: w.startsWith('--d') ? 'dport' : 'sport', negated: neg, ranges: take(i++).split(',').map(parsePortRange) });
        break;
      case '--dst-type':
      case '--src-type':
        matches.push({ kind: 'addrtype', which: w === '--dst-type' ? 'dst' : 'src', negated: neg, types: take(i++).split(',') });
        break;
      case '--limit-iface-in':
      case '--limit-iface-out':
        break;
      case '--mode':
        statMode = take(i++);
        break;
      case '--probability':
        stat.probability = Number(take(i++));
        break;
      case '--every':
        stat.every = Number(take(i++));
        break;
      case '--packet':
        stat.packet = Number(take(i++));
        break;
      case '--name':
        if (module === 'recent' && recent) recent.name = take(i++);
        else i++;
        break;
      case '--rcheck':
      case '--update':
      case '--set':
      case '--remove':
        if (recent) {
          recent.action = w.slice(2) as 'rcheck';
          recent.negated = neg;
        }
        break;
      case '--seconds':
        if (recent) recent.seconds = Number(take(i++));
        else i++;
        break;
      case '--reap':
        if (recent) recent.reap = true;
        break;
      case '--rdest':
        if (recent) recent.rdest = true;
        break;
      case '--rsource':
        break;
      case '--mask':
      case '--hitcount':
      case '--rttl':
        i++;
        break;
      case '--mark': {
        const { value, mask } = parseMark(take(i++));
        matches.push({ kind: module === 'connmark' ? 'connmark' : 'mark', negated: neg, value, mask });
        break;
      }
      case '--ctstate':
      case '--state':
        matches.push({ kind: 'ctstate', negated: neg, states: take(i++).split(',') });
        break;
      case '--comment':
        matches.push({ kind: 'comment', text: take(i++) });
        break;
      case '--nfacct-name':
        matches.push({ kind: 'nfacct', name: take(i++) });
        break;
      default:
        throw new Error(`unsupported option ${w}${module ? ` (module ${module})` : ''}`);
    }
  }
  if (statMode === 'random') matches.push({ kind: 'statistic', mode: 'random', probability: stat.probability ?? 1 });
  else if (statMode === 'nth') matches.push({ kind: 'statistic', mode: 'nth', every: stat.every ?? 1, packet: stat.packet ?? 0 });
  return { table, chain, index, text, command: `-t ${table} ${text}`, matches, target };
}

/**
 * Parses iptables-save output or iptables-restore input. Counters (`[pkts:bytes]` before `-A`, or on chain lines)
 * are accepted and ignored; `-X` deletes a chain; built-in chains exist in every table that is mentioned.
 * Throws `E_IPTABLES_PARSE` with the line number on anything it cannot read.
 */
export function parseIptables(text: string, into?: IptablesRuleset): IptablesRuleset {
  const ruleset: IptablesRuleset = into ?? { tables: new Map() };
  let table: Table | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw.startsWith('*')) {
      const name = raw.slice(1);
      table = ruleset.tables.get(name);
      if (!table) {
        table = { name, chains: new Map() };
        for (const c of BUILTIN_CHAINS[name] ?? []) table.chains.set(c, { name: c, policy: 'ACCEPT', rules: [] });
        ruleset.tables.set(name, table);
      }
      continue;
    }
    if (!table) throw parseError('expected a table line such as *nat first', n + 1, raw);
    if (raw === 'COMMIT') {
      table = undefined;
      continue;
    }
    if (raw.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/.exec(raw);
      if (!m) throw parseError('bad chain line', n + 1, raw);
      const existing = table.chains.get(m[1]!);
      if (existing) {
        // In restore input a chain line flushes the chain.
        existing.rules = [];
        if (m[2] !== '-') existing.policy = m[2]!;
      } else table.chains.set(m[1]!, { name: m[1]!, policy: m[2]!, rules: [] });
      continue;
    }
    const line = raw.replace(/^\[\d+:\d+\]\s+/, '');
    const words = tokenize(line);
    if (words[0] === '-X') {
      table.chains.delete(words[1] ?? '');
      continue;
    }
    if (words[0] !== '-A') throw parseError('expected -A CHAIN …', n + 1, raw);
    const chain = table.chains.get(words[1] ?? '');
    if (!chain) throw parseError(`chain ${JSON.stringify(words[1])} was not declared in table ${table.name}`, n + 1, raw);
    try {
      chain.rules.push(parseRuleWords(table.name, chain.name, chain.rules.length + 1, line, words.slice(2)));
    } catch (e) {
      if (e instanceof KubeNetsimError && e.code === 'E_IPTABLES_PARSE') throw e;
      throw parseError((e as Error).message, n + 1, raw);
    }
  }
  if (table) throw parseError(`table ${table.name} has no COMMIT`, lines.length, '');
  return ruleset;
}
