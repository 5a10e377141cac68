export * from './errors.js';
export * from './ip/index.js';
export * from './api/index.js';
export type { NodeNetwork, NodeNetworkRequest, PodIPAM, PodIPResult } from './cluster/ipam.js';
export * from './cluster/index.js';
export * from './cni/index.js';
export * from './proxy/index.js';
export * from './dns/index.js';
export * from './manifests/index.js';
