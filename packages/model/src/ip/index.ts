export { type IPFamily, canonicalIP, compareIPs, intToIPv4, ipFamily, ipv4ToInt, isIP, parseIP } from './address.js';
export { CIDR, parseCIDR } from './cidr.js';
