export { type ManifestSource, readManifests } from './read.js';
