import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kernelCapability, requireKernel } from '../../test/support/kernel.js';
import { cniIptablesRules } from './iptables.js';

// The kernel checks run in a fresh network namespace (unshare -n): they need root; skipped with the reason otherwise.
const capability = kernelCapability(['iptables']);

const base = { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], nodePrimaryIP: '10.0.1.5' };

describe('cniIptablesRules', () => {
  it('renders the default SNAT and connmark rules as iptables-save prints them', () => {
    const r = cniIptablesRules({ ...base, excludeSnatCIDRs: ['172.16.0.0/12'] });
    expect(r.nat.chains).toEqual(['AWS-CONNMARK-CHAIN-0', 'AWS-SNAT-CHAIN-0']);
    expect(r.nat.rules).toEqual([
      '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
      '-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 -d 100.64.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 -d 172.16.0.0/12 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.5 --random-fully',
      '-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
      '-A AWS-CONNMARK-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN',
      '-A AWS-CONNMARK-CHAIN-0 -d 100.64.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN',
      '-A AWS-CONNMARK-CHAIN-0 -d 172.16.0.0/12 -m comment --comment "AWS CONNMARK CHAIN, EXCLUDED CIDR" -j RETURN',
      '-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
    ]);
    expect(r.mangle.rules).toEqual([
      '-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
      '-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      '-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    ]);
  });

  it('external SNAT removes SNAT and connmark rules but keeps NodePort marking', () => {
    const r = cniIptablesRules({ ...base, externalSnat: true });
    expect(r.nat.rules).toEqual([]);
    expect(r.nat.chains).toEqual(['AWS-CONNMARK-CHAIN-0', 'AWS-SNAT-CHAIN-0']);
    expect(r.mangle.rules).toHaveLength(3);
    const none = cniIptablesRules({ ...base, externalSnat: true, nodePortSupport: false });
    expect(none.mangle.rules).toEqual([]);
  });

  it('maps AWS_VPC_K8S_CNI_RANDOMIZESNAT to the SNAT flag', () => {
    const last = (rs: 'prng' | 'hashrandom' | 'none') =>
      cniIptablesRules({ ...base, randomizeSnat: rs }).nat.rules.find((l) => l.includes('-j SNAT'))!;
    expect(last('prng').endsWith('--to-source 10.0.1.5 --random-fully')).toBe(true);
    expect(last('hashrandom').endsWith('--to-source 10.0.1.5 --random')).toBe(true);
    expect(last('none').endsWith('--to-source 10.0.1.5')).toBe(true);
  });

  it('matches what the kernel gives back for the arguments the plugin passes (iptables-restore → iptables-save)', (ctx) => {
    requireKernel(ctx, capability);
    // The rules as ipamd passes them to iptables (argument order of network.go), not as iptables-save prints them.
    const input = [
      '*nat',
      ':AWS-CONNMARK-CHAIN-0 - [0:0]',
      ':AWS-SNAT-CHAIN-0 - [0:0]',
      '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
      '-A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 -d 100.64.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.5 --random-fully',
      '-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
      '-A AWS-CONNMARK-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN',
      '-A AWS-CONNMARK-CHAIN-0 -d 100.64.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN',
      '-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --mask 0x80',
      '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
      'COMMIT',
      '*mangle',
      '-A PREROUTING -m comment --comment "AWS, primary ENI" -i eth0 -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-mark 0x80/0x80',
      '-A PREROUTING -m comment --comment "AWS, primary ENI" -i eni+ -j CONNMARK --restore-mark --mask 0x80',
      '-A PREROUTING -m comment --comment "AWS, primary ENI" -i vlan+ -j CONNMARK --restore-mark --mask 0x80',
      'COMMIT',
      '',
    ].join('\n');
    // A fresh network namespace, so the host's tables are never touched.
    const saved = execFileSync('unshare', ['-n', 'sh', '-c', 'iptables-restore && iptables-save'], { input, encoding: 'utf8' });
    const kernel = (table: string) => {
      const block = saved.split(/^\*/m).find((b) => b.startsWith(`${table}\n`)) ?? '';
      return block.split('\n').filter((l) => l.startsWith('-A '));
    };
    const ours = cniIptablesRules(base);
    // iptables-save lists built-in chains first, then user chains: compare per chain, order kept within each.
    const byChain = (rules: string[]) => {
      const m = new Map<string, string[]>();
      for (const r of rules) {
        const chain = r.split(' ')[1]!;
        m.set(chain, [...(m.get(chain) ?? []), r]);
      }
      return m;
    };
    expect(byChain(ours.nat.rules)).toEqual(byChain(kernel('nat')));
    expect(ours.mangle.rules).toEqual(kernel('mangle'));
  });
});
