export * from './mlmodel.js';
export * from './model-input.js';
export * from './signature.js';
