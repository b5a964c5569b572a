export * from './command-template.js';
export * from './parameters.js';
export * from './project-file.js';
export * from './project-spec.js';
export * from './python-env.js';
