import type { Explanation, ProxyPacket } from '../explain-types.js';
import type { ProxyNode } from '../node.js';
import { type InterpreterContext, type InterpreterPacket, type InterpreterRun, interpretPacket } from './evaluate.js';
import { type IptablesRuleset, parseIptables } from './ruleset.js';

/** Options of `explainIptables`. */
export interface ExplainIptablesOptions {
  /** Only the run whose DNAT goes to this `IP:port` (statistic forced to that endpoint). */
  forceEndpoint?: string;
  /** `recent` state (ClientIP affinity) and time, see `InterpreterContext`. */
  recent?: InterpreterContext['recent'];
  now?: number;
}

/** The interpreter packet of a `ProxyPacket` arriving at `node`. */
export function interpreterPacketOf(packet: ProxyPacket, node: ProxyNode): InterpreterPacket {
  const local = packet.from.startsWith('127.') || node.ips.includes(packet.from);
  const arrival = packet.arrival ?? (local ? 'host' : 'pod');
  if (arrival === 'host') return { src: packet.from, dst: packet.to, dport: packet.port, protocol: packet.protocol, path: 'output' };
  // VPC CNI host-side veths are named eni<hash>; traffic from outside the node comes in on the primary ENI.
  return { src: packet.from, dst: packet.to, dport: packet.port, protocol: packet.protocol, path: 'prerouting', inInterface: arrival === 'pod' ? 'eni0' : 'eth0' };
}

/** Folds the runs of one packet into the common `Explanation`. */
export function summarizeRuns(runs: readonly InterpreterRun[]): Explanation {
  const possibleEndpoints: string[] = [];
  const rules = new Set<string>();
  let masquerade = false;
  for (const run of runs) {
    if (run.dnat && run.decision !== 'DROP' && run.decision !== 'REJECT' && !possibleEndpoints.includes(run.dnat)) possibleEndpoints.push(run.dnat);
    for (const m of run.matched) rules.add(m.text);
    if (run.masquerade) masquerade = true;
  }
  const decisions = runs.map((r) => r.decision);
  let verdict: Explanation['verdict'] = 'NONE';
  if (possibleEndpoints.length > 0) verdict = 'DNAT';
  else if (decisions.includes('REJECT')) verdict = 'REJECT';
  else if (decisions.includes('DROP')) verdict = 'DROP';
  else if (decisions.includes('ACCEPT')) verdict = 'ACCEPT';
  return { verdict, possibleEndpoints, masquerade, rules: [...rules] };
}

/**
 * What the node's iptables rules do with `packet`: every endpoint the `statistic` rules can pick, whether it is
 * masqueraded, and every rule that matched, in order. `ruleset` is iptables-save/restore text or a parsed ruleset
 * (use the node's full ruleset, e.g. `renderIptablesSave`, so the jumps from the built-in chains are there).
 */
export function explainIptables(ruleset: IptablesRuleset | string, packet: ProxyPacket, node: ProxyNode, options: ExplainIptablesOptions = {}): Explanation {
  const parsed = typeof ruleset === 'string' ? parseIptables(ruleset) : ruleset;
  const ctx: InterpreterContext = { localAddresses: node.ips, ...(options.recent ? { recent: options.recent } : {}), ...(options.now !== undefined ? { now: options.now } : {}) };
  let runs = interpretPacket(parsed, interpreterPacketOf(packet, node), ctx);
  if (options.forceEndpoint !== undefined) runs = runs.filter((r) => r.dnat === options.forceEndpoint);
  return summarizeRuns(runs);
}
