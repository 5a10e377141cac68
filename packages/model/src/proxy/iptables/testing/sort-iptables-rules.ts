// A port of kube-proxy's test normalisation (pkg/proxy/iptables/proxier_test.go: sortIPTablesRules, with
// pkg/util/iptables/testing/parse.go: ParseIPTablesDump / IPTablesDump.String), so the simulator's restore input
// can be compared with the expected text of kube-proxy's own tests. Test support only.

interface DumpChain {
  name: string;
  counters: string;
  rules: { raw: string; comment: string | undefined }[];
  deleted: boolean;
}
interface DumpTable {
  name: string;
  chains: DumpChain[];
}

/** The value of `--comment` in a rule, unquoted (as `iptablestest.ParseRule` reads it). */
function commentOf(raw: string): string | undefined {
  const words = [...raw.matchAll(/(?:^|\s)("[^"]*"|[^"]\S*)/g)].map((m) => m[1]!.replace(/^"|"$/g, ''));
  const i = words.indexOf('--comment');
  return i >= 0 ? words[i + 1] : undefined;
}

function parseDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let state: 'table' | 'chains' | 'rules' = 'table';
  let table: DumpTable | undefined;
  for (let line of text.replace(/^\n+|\n+$/g, '').split('\n')) {
    line = line.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (state === 'table') {
      if (!line.startsWith('*')) throw new Error(`table ${tables.length + 1} starts with ${JSON.stringify(line)} not a table name`);
      table = { name: line.slice(1), chains: [] };
      tables.push(table);
      state = 'chains';
      continue;
    }
    const decl = /^:([^ ]*) - \[([0-9]*):([0-9]*)\]$/.exec(line);
    if (state === 'chains' && decl) {
      table!.chains.push({ name: decl[1]!, counters: `${decl[2]}:${decl[3]}`, rules: [], deleted: false });
      continue;
    }
    state = 'rules';
    const add = /^-A ([^ ]*) (.*)$/.exec(line);
    const del = /^-X (.*)$/.exec(line);
    if (add) {
      const chain = table!.chains.find((c) => c.name === add[1]);
      if (!chain) throw new Error(`error parsing rule ${JSON.stringify(line)}: no such chain ${JSON.stringify(add[1])}`);
      chain.rules.push({ raw: line, comment: commentOf(line) });
    } else if (del) {
      const chain = table!.chains.find((c) => c.name === del[1]);
      if (!chain) throw new Error(`error parsing rule ${JSON.stringify(line)}`);
      chain.deleted = true;
    } else if (line === 'COMMIT') {
      state = 'table';
    } else {
      throw new Error(`error parsing rule ${JSON.stringify(line)}`);
    }
  }
  if (state !== 'table') throw new Error('could not parse iptables data (no COMMIT line?)');
  return tables;
}

function serviceNameOf(comment: string): string {
  const i = comment.search(/[ :]/);
  return i === -1 ? comment : comment.slice(0, i);
}

/** Stable sort by a strict "less" (Go's sort.SliceStable). */
function stableSort<T>(items: T[], less: (a: T, b: T) => boolean): void {
  const indexed = items.map((v, i) => ({ v, i }));
  indexed.sort((a, b) => (less(a.v, b.v) ? -1 : less(b.v, a.v) ? 1 : a.i - b.i));
  indexed.forEach((e, k) => (items[k] = e.v));
}

const byServiceName = (a: { comment: string | undefined }, b: { comment: string | undefined }) =>
  a.comment !== undefined && b.comment !== undefined && serviceNameOf(a.comment) < serviceNameOf(b.comment);

/** kube-proxy's `sortIPTablesRules`: a canonical order independent of the order Services were processed in. */
export function sortIPTablesRules(ruleData: string): string {
  const tables = parseDump(ruleData);
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = (name: string) => (name === 'KUBE-NODEPORTS' ? 0 : name === 'KUBE-SERVICES' ? 1 : name.startsWith('KUBE-') ? 2 : 3);
  for (const t of tables) {
    t.chains.sort((a, b) => rank(a.name) - rank(b.name) || (rank(a.name) >= 2 ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : 0));
    const nodePorts = t.chains.find((c) => c.name === 'KUBE-NODEPORTS');
    if (nodePorts && (t.name === 'filter' || t.name === 'nat')) stableSort(nodePorts.rules, byServiceName);
    const services = t.chains.find((c) => c.name === 'KUBE-SERVICES');
    if (services && t.name === 'filter') stableSort(services.rules, byServiceName);
    if (services && t.name === 'nat') {
      const isLast = (r: { comment: string | undefined }) => r.comment !== undefined && r.comment.includes('must be the last rule');
      stableSort(services.rules, (a, b) => (isLast(a) ? false : isLast(b) ? true : byServiceName(a, b)));
    }
  }
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} - [${c.counters}]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r.raw}\n`;
    for (const c of t.chains) if (c.deleted) out += `-X ${c.name}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
