import { describe, expect, it } from 'vitest';
import { cniConfigFromEnv, warmIPTargetsDefined } from './config.js';

describe('cniConfigFromEnv', () => {
  it("takes ipamd's defaults when the env says nothing", () => {
    const c = cniConfigFromEnv({});
    expect(c).toMatchObject({
      warmENITarget: 1,
      warmIPTarget: 0,
      minimumIPTarget: 0,
      warmPrefixTarget: 0,
      enablePrefixDelegation: false,
      maxENI: -1,
      customNetworking: false,
      eniConfigLabelDef: 'k8s.amazonaws.com/eniConfig',
      eniConfigAnnotationDef: 'k8s.amazonaws.com/eniConfig',
      externalSnat: false,
      excludeSnatCIDRs: [],
      randomizeSnat: 'prng',
      nodePortSupport: true,
      vethPrefix: 'eni',
      ipCooldownPeriod: 30,
      subnetDiscovery: true,
    });
    expect(c.warnings).toEqual([]);
    expect(warmIPTargetsDefined(c)).toBe(false);
  });

  it('reads the settings people set', () => {
    const c = cniConfigFromEnv({
      WARM_ENI_TARGET: '0',
      WARM_IP_TARGET: '5',
      MINIMUM_IP_TARGET: '10',
      WARM_PREFIX_TARGET: '1',
      ENABLE_PREFIX_DELEGATION: 'true',
      MAX_ENI: '2',
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'TRUE',
      ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone',
      AWS_VPC_K8S_CNI_EXTERNALSNAT: '1',
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '172.16.0.0/12, 192.168.0.0/16',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
      IP_COOLDOWN_PERIOD: '60',
    });
    expect(c).toMatchObject({
      warmENITarget: 0,
      warmIPTarget: 5,
      minimumIPTarget: 10,
      warmPrefixTarget: 1,
      enablePrefixDelegation: true,
      maxENI: 2,
      customNetworking: true,
      eniConfigLabelDef: 'topology.kubernetes.io/zone',
      externalSnat: true,
      excludeSnatCIDRs: ['172.16.0.0/12', '192.168.0.0/16'],
      randomizeSnat: 'hashrandom',
      ipCooldownPeriod: 60,
    });
    expect(warmIPTargetsDefined(c)).toBe(true);
  });

  it('falls back the way the real getters do on invalid values', () => {
    const c = cniConfigFromEnv({
      WARM_ENI_TARGET: '-1', // getWarmENITarget: negative → default 1
      WARM_IP_TARGET: 'five', // unparsable → unset
      MINIMUM_IP_TARGET: '-3', // negative → unset
      WARM_PREFIX_TARGET: '1.5', // Atoi fails → 0
      MAX_ENI: '0', // < 1 → the instance limit
      ENABLE_PREFIX_DELEGATION: 'yes', // ParseBool fails → false
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: 'bogus,10.1.0.0/16',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'random',
    });
    expect(c).toMatchObject({
      warmENITarget: 1,
      warmIPTarget: 0,
      minimumIPTarget: 0,
      warmPrefixTarget: 0,
      maxENI: -1,
      enablePrefixDelegation: false,
      excludeSnatCIDRs: ['10.1.0.0/16'],
      randomizeSnat: 'prng',
    });
    expect(c.warnings.length).toBeGreaterThanOrEqual(7);
    expect(c.warnings.join('\n')).toContain('WARM_ENI_TARGET');
  });

  it('treats WARM_IP_TARGET=0 as unset (noWarmIPTarget is 0)', () => {
    expect(warmIPTargetsDefined(cniConfigFromEnv({ WARM_IP_TARGET: '0' }))).toBe(false);
    expect(warmIPTargetsDefined(cniConfigFromEnv({ MINIMUM_IP_TARGET: '1' }))).toBe(true);
  });
});
