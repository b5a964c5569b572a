import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { auditListCommand } from './audit/list.js';
import { auditVerifyCommand } from './audit/verify.js';

/**
 * `keel audit verify|list`: check the audit log's hash chain straight from the backend store,
 * or list events through a tracking server.
 */
export function auditCommand(io: CliIo): Command {
  return new Command('audit')
    .description('Verify and list the tamper-evident audit log')
    .addCommand(auditVerifyCommand(io))
    .addCommand(auditListCommand(io));
}
