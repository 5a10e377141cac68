import { describe, expect, test } from 'vitest';
import { saveProbability, saveString, toSaveSyntax } from './save-format.js';

// Restore lines as kube-proxy writes them → the lines iptables-save prints on a node (the shapes seen in every
// `iptables-save` of a kube-proxy node; the kernel test checks the whole view against a real iptables-save too).
describe('toSaveSyntax', () => {
  test.each([
    [
      '-A KUBE-SERVICES -m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.100.0.1 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y',
      '-A KUBE-SERVICES -d 10.100.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y',
    ],
    [
      '-A KUBE-SEP-ABCDEFGHIJKLMNOP -m comment --comment default/kubernetes:https -s 192.168.101.95 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-ABCDEFGHIJKLMNOP -s 192.168.101.95/32 -m comment --comment "default/kubernetes:https" -j KUBE-MARK-MASQ',
    ],
    [
      '-A KUBE-SEP-ABCDEFGHIJKLMNOP -m comment --comment default/kubernetes:https -m tcp -p tcp -j DNAT --to-destination 192.168.101.95:443',
      '-A KUBE-SEP-ABCDEFGHIJKLMNOP -p tcp -m comment --comment "default/kubernetes:https" -m tcp -j DNAT --to-destination 192.168.101.95:443',
    ],
    ['-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN', '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN'],
    ['-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000', '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0'],
    ['-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000', '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'],
    [
      '-A KUBE-SVC-X -m comment --comment "ns/a:p -> 10.0.0.1:80" -m recent --name KUBE-SEP-Y --rcheck --seconds 10800 --reap -j KUBE-SEP-Y',
      '-A KUBE-SVC-X -m comment --comment "ns/a:p -> 10.0.0.1:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-Y --mask 255.255.255.255 --rsource -j KUBE-SEP-Y',
    ],
    [
      '-A KUBE-NODEPORTS -m comment --comment default/nginx -m tcp -p tcp -d 127.0.0.0/8 --dport 30606 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-2CMXP7HKUVJN7L6M',
      '-A KUBE-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment "default/nginx" -m tcp --dport 30606 -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j KUBE-EXT-2CMXP7HKUVJN7L6M',
    ],
  ])('%s', (restore, saved) => {
    expect(toSaveSyntax(restore)).toBe(saved);
  });

  test('statistic probabilities are kept as 31-bit fractions and printed with 11 decimals', () => {
    expect(saveProbability('0.5000000000')).toBe('0.50000000000');
    expect(saveProbability('0.3333333333')).toBe('0.33333333349');
    expect(saveProbability('0.2500000000')).toBe('0.25000000000');
  });

  test('strings are quoted unless they are only [-_0-9A-Za-z]', () => {
    expect(saveString('KUBE-SVC')).toBe('KUBE-SVC');
    expect(saveString('ns/svc')).toBe('"ns/svc"');
    expect(saveString('say "hi"')).toBe('"say \\"hi\\""');
  });
});
