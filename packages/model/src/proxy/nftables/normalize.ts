// The normalisation kube-proxy's own nftables tests compare with (`sortNFTablesTransaction` in
// pkg/proxy/nftables/helpers_test.go): blank lines and `#` comments go, then lines are ordered by object type
// (table, chain, rule, set, map, element), then by object name; rules of one chain keep their order, other
// objects of one name sort by their whole line.

const OBJECT_ORDER: Readonly<Record<string, number>> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };

/** Normalises `nft -f` text the way upstream's tests do, so two renderings compare equal when kube-proxy's would. */
export function sortNftablesTransaction(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const keyed = lines.map((line, index) => ({ line, index, words: line.split(' ') }));
  keyed.sort((a, b) => {
    const ta = a.words[1] ?? '';
    const tb = b.words[1] ?? '';
    if (ta !== tb) return (OBJECT_ORDER[tb] ?? 0) - (OBJECT_ORDER[ta] ?? 0);
    const na = a.words[4] ?? '';
    const nb = b.words[4] ?? '';
    if (na !== nb) return na < nb ? -1 : 1;
    if (ta === 'rule' || a.line === b.line) return a.index - b.index;
    return a.line < b.line ? -1 : 1;
  });
  return keyed.map((k) => k.line).join('\n');
}
