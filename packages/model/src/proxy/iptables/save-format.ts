import { CIDR } from '../../ip/cidr.js';
import { tokenize } from '../interpreter/ruleset.js';

// How iptables-save prints a rule that was given in kube-proxy's restore syntax: the address/interface/protocol
// part first (-s, -d, -i, -o, -p), then each -m module with its options in the extension's own order and number
// formats, then the target with its options as the extension saves them (MARK --or-mark → --set-xmark, …).

const OWNER: Record<string, string> = {
  '--comment': 'comment',
  '--dport': 'l4',
  '--sport': 'l4',
  '--dst-type': 'addrtype',
  '--src-type': 'addrtype',
  '--limit-iface-in': 'addrtype',
  '--limit-iface-out': 'addrtype',
  '--mode': 'statistic',
  '--probability': 'statistic',
  '--every': 'statistic',
  '--packet': 'statistic',
  '--name': 'recent',
  '--rcheck': 'recent',
  '--set': 'recent',
  '--update': 'recent',
  '--remove': 'recent',
  '--seconds': 'recent',
  '--reap': 'recent',
  '--mark': 'mark',
  '--ctstate': 'conntrack',
  '--nfacct-name': 'nfacct',
};
const FLAGS = new Set(['--rcheck', '--set', '--update', '--remove', '--reap', '--limit-iface-in', '--limit-iface-out']);

/** xtables_save_string: bare when only `[_-0-9A-Za-z]`, else double-quoted with `"`, `\` and `'` escaped. */
export function saveString(value: string): string {
  if (/^[-_0-9A-Za-z]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function saveMark(text: string): string {
  const [v, m] = text.split('/');
  const value = Number(v) >>> 0;
  const mask = m === undefined ? 0xffffffff : Number(m) >>> 0;
  return mask === 0xffffffff ? hex(value) : `${hex(value)}/${hex(mask)}`;
}

function saveAddress(text: string): string {
  return CIDR.parse(text.includes('/') ? text : `${text}/32`).toString();
}

/** libxt_statistic keeps the probability as a 31-bit fraction and prints it with `%.11f`. */
export function saveProbability(text: string): string {
  return (Math.round(0x80000000 * Number(text)) / 0x80000000).toFixed(11);
}

const CT_ORDER = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];

interface Opt {
  name: string;
  value: string | undefined;
  negated: boolean;
}

/** One `-A CHAIN …` line in restore syntax → the line `iptables-save` prints for the same rule. */
export function toSaveSyntax(line: string): string {
  const words = tokenize(line);
  const chain = words[1]!;
  const ip: Record<string, { value: string; negated: boolean }> = {};
  const modules: { name: string; opts: Opt[] }[] = [];
  let target: { name: string; opts: Opt[] } | undefined;
  let negated = false;
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    if (w === '!') {
      negated = true;
      continue;
    }
    if (target) {
      const next = words[i + 1];
      const takesValue = next !== undefined && !next.startsWith('--');
      target.opts.push({ name: w, value: takesValue ? next : undefined, negated });
      if (takesValue) i++;
    } else if (['-s', '-d', '-i', '-o', '-p'].includes(w)) {
      ip[w] = { value: words[++i]!, negated };
    } else if (w === '-m') {
      modules.push({ name: words[++i]!, opts: [] });
    } else if (w === '-j' || w === '-g') {
      target = { name: `${w} ${words[++i]!}`, opts: [] };
    } else {
      const owner = OWNER[w] ?? '';
      const mod = [...modules].reverse().find((m) => (owner === 'l4' ? ['tcp', 'udp', 'sctp'].includes(m.name) : m.name === owner)) ?? modules[modules.length - 1];
      const value = FLAGS.has(w) ? undefined : words[++i];
      mod?.opts.push({ name: w, value, negated });
    }
    negated = false;
  }
  const out: string[] = ['-A', chain];
  for (const k of ['-s', '-d', '-i', '-o', '-p']) {
    const v = ip[k];
    if (!v) continue;
    if (v.negated) out.push('!');
    out.push(k, k === '-s' || k === '-d' ? saveAddress(v.value) : v.value);
  }
  const opt = (m: { opts: Opt[] }, name: string) => m.opts.find((o) => o.name === name);
  const push = (o: Opt | undefined, value?: string) => {
    if (!o) return;
    if (o.negated) out.push('!');
    out.push(o.name);
    if (value !== undefined) out.push(value);
    else if (o.value !== undefined) out.push(o.value);
  };
  for (const m of modules) {
    out.push('-m', m.name);
    switch (m.name) {
      case 'comment':
        out.push('--comment', saveString(opt(m, '--comment')?.value ?? ''));
        break;
      case 'tcp':
      case 'udp':
      case 'sctp':
        push(opt(m, '--sport'));
        push(opt(m, '--dport'));
        break;
      case 'addrtype':
        push(opt(m, '--src-type'));
        push(opt(m, '--dst-type'));
        push(opt(m, '--limit-iface-in'));
        push(opt(m, '--limit-iface-out'));
        break;
      case 'statistic': {
        const mode = opt(m, '--mode')?.value ?? 'random';
        out.push('--mode', mode);
        if (mode === 'random') out.push('--probability', saveProbability(opt(m, '--probability')?.value ?? '1'));
        else {
          out.push('--every', opt(m, '--every')?.value ?? '1');
          const p = opt(m, '--packet')?.value;
          if (p !== undefined && p !== '0') out.push('--packet', p);
        }
        break;
      }
      case 'recent':
        for (const f of ['--set', '--rcheck', '--update', '--remove']) push(opt(m, f));
        push(opt(m, '--seconds'));
        push(opt(m, '--reap'));
        out.push('--name', opt(m, '--name')?.value ?? 'DEFAULT', '--mask', '255.255.255.255', '--rsource');
        break;
      case 'mark': {
        const o = opt(m, '--mark');
        if (o) push(o, saveMark(o.value ?? '0'));
        break;
      }
      case 'conntrack': {
        const o = opt(m, '--ctstate');
        if (o) push(o, CT_ORDER.filter((s) => (o.value ?? '').split(',').includes(s)).join(','));
        break;
      }
      case 'nfacct':
        // libxt_nfacct prints the name after two spaces.
        out.push(`--nfacct-name  ${opt(m, '--nfacct-name')?.value ?? ''}`);
        break;
      default:
        for (const o of m.opts) push(o);
    }
  }
  if (target) {
    out.push(...target.name.split(' '));
    const o = (name: string) => target!.opts.find((x) => x.name === name);
    if (target.name === '-j MARK') {
      const or = o('--or-mark');
      const xor = o('--xor-mark');
      const and = o('--and-mark');
      if (or) out.push('--set-xmark', `${hex(Number(or.value))}/${hex(Number(or.value))}`);
      else if (xor) out.push('--set-xmark', `${hex(Number(xor.value))}/0x0`);
      else if (and) out.push('--set-xmark', `0x0/${hex(~Number(and.value))}`);
      else for (const x of target.opts) push(x);
    } else if (target.name === '-j REJECT' && !o('--reject-with')) {
      out.push('--reject-with', 'icmp-port-unreachable');
    } else {
      for (const x of target.opts) push(x);
    }
  }
  return out.join(' ');
}
