export * from './errors.js';
export * from './limits.js';
export * from './model-uri.js';
export * from './registry.js';
export * from './search/index.js';
export * from './tracking.js';
export * from './validation.js';
export * from './version.js';
