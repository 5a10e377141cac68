export * from './meta.js';
export * from './core.js';
export * from './config.js';
export * from './input.js';
