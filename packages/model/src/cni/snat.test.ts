import { describe, expect, it } from 'vitest';
import { podEgressSource } from './snat.js';

describe('podEgressSource', () => {
  const policy = { vpcCIDRs: ['10.0.0.0/16', '100.64.0.0/16'], excludeSnatCIDRs: ['172.16.0.0/12'], nodePrimaryIP: '10.0.1.5' };
  it('keeps the pod IP inside the VPC CIDRs and the exclusions, SNATs to the node IP elsewhere', () => {
    expect(podEgressSource(policy, '10.0.1.20', '10.0.9.9')).toBe('10.0.1.20');
    expect(podEgressSource(policy, '10.0.1.20', '100.64.3.3')).toBe('10.0.1.20'); // a secondary VPC CIDR block
    expect(podEgressSource(policy, '10.0.1.20', '172.20.0.1')).toBe('10.0.1.20'); // AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS
    expect(podEgressSource(policy, '10.0.1.20', '8.8.8.8')).toBe('10.0.1.5');
    expect(podEgressSource(policy, '10.0.1.20', '192.168.1.1')).toBe('10.0.1.5'); // a peered VPC is "outside"
  });
  it('never SNATs with external SNAT, nor to the node itself', () => {
    expect(podEgressSource({ ...policy, externalSnat: true }, '10.0.1.20', '8.8.8.8')).toBe('10.0.1.20');
    expect(podEgressSource({ ...policy, vpcCIDRs: [] }, '10.0.1.20', '10.0.1.5', ['10.0.1.5'])).toBe('10.0.1.20');
  });
});
