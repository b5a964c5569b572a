export * from './errors.js';
export * from './limits.js';
export * from './search/index.js';
export * from './tracking.js';
export * from './validation.js';
export * from './version.js';
