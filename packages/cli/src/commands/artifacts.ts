import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { artifactsDownloadCommand } from './artifacts/download.js';
import { artifactsListCommand } from './artifacts/list.js';
import { artifactsLogCommand } from './artifacts/log.js';

/** `keel artifacts log|list|download`: move run artifacts through the server's artifact proxy. */
export function artifactsCommand(io: CliIo): Command {
  return new Command('artifacts')
    .description("Upload, list and download a run's artifacts")
    .addCommand(artifactsLogCommand(io))
    .addCommand(artifactsListCommand(io))
    .addCommand(artifactsDownloadCommand(io));
}
