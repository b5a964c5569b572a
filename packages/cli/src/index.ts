export { CliError } from './cli-error.js';
export type { CliIo } from './io.js';
export { buildProgram, runCli } from './program.js';
