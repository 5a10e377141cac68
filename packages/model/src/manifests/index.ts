export { type ManifestSource, readManifests } from './read.js';
export { type ObjectSource, clusterInputObjects, writeManifests } from './write.js';
