import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Workflows (docs/workflows.md): registered versions with their task versions, and executions
 * with the state of every node, attempt, cache entry and cache reservation. Specs, inputs,
 * outputs and errors are JSON text. The scheduler finds work through `workflow_nodes (state,
 * not_before)`; a node, an execution or a cache reservation belongs to a server process while its
 * `lease_until` is in the future, so a process that dies (SIGKILL) leaves rows another can take
 * over.
 */
export function workflowSchema(dialect: DialectName): Migration {
  // SQLite integers are 64-bit already; PostgreSQL needs BIGINT for epoch-millisecond times.
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('workflows')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('default_version', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('updated_at', int64, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('workflow_versions')
        .addColumn('name', 'text', (c) => c.notNull().references('workflows.name'))
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addPrimaryKeyConstraint('workflow_versions_pk', ['name', 'version'])
        .execute();
      // Versions are listed newest first.
      await db.schema
        .createIndex('workflow_versions_created')
        .on('workflow_versions')
        .columns(['name', 'created_at'])
        .execute();

      await db.schema
        .createTable('workflow_tasks')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('task_name', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('workflow_tasks_pk', ['name', 'version', 'task_name'])
        .addForeignKeyConstraint('workflow_tasks_version_fk', ['name', 'version'], 'workflow_versions', [
          'name',
          'version',
        ])
        .execute();

      await db.schema
        .createTable('workflow_executions')
        .addColumn('execution_id', 'text', (c) => c.primaryKey())
        .addColumn('workflow', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text')
        .addColumn('error', 'text')
        .addColumn('cache_mode', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('parent_execution_id', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('started_at', int64)
        .addColumn('ended_at', int64)
        .addColumn('updated_at', int64, (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('lease_until', int64)
        .addForeignKeyConstraint(
          'workflow_executions_version_fk',
          ['workflow', 'version'],
          'workflow_versions',
          ['name', 'version'],
        )
        .execute();
      // Listing newest first: all executions, one workflow's, or those in a state (the scheduler's
      // active ones).
      await db.schema
        .createIndex('workflow_executions_created')
        .on('workflow_executions')
        .columns(['created_at', 'execution_id'])
        .execute();
      await db.schema
        .createIndex('workflow_executions_workflow')
        .on('workflow_executions')
        .columns(['workflow', 'created_at'])
        .execute();
      await db.schema
        .createIndex('workflow_executions_state')
        .on('workflow_executions')
        .column('state')
        .execute();

      await db.schema
        .createTable('workflow_nodes')
        .addColumn('execution_id', 'text', (c) => c.notNull().references('workflow_executions.execution_id'))
        .addColumn('node_id', 'text', (c) => c.notNull())
        // Insertion order within the execution (static nodes in topological order, then expansions).
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('task', 'text')
        .addColumn('parent_node', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('cache', 'text')
        .addColumn('cache_key', 'text')
        .addColumn('inputs', 'text')
        .addColumn('outputs', 'text')
        .addColumn('error', 'text')
        .addColumn('not_before', int64, (c) => c.notNull())
        .addColumn('queued_at', int64)
        .addColumn('started_at', int64)
        .addColumn('ended_at', int64)
        .addColumn('run_id', 'text')
        .addColumn('owner', 'text')
        .addColumn('lease_until', int64)
        .addPrimaryKeyConstraint('workflow_nodes_pk', ['execution_id', 'node_id'])
        .execute();
      // The scheduler's queries: queued nodes that are due, running nodes whose lease ran out.
      await db.schema
        .createIndex('workflow_nodes_ready')
        .on('workflow_nodes')
        .columns(['state', 'not_before'])
        .execute();

      await db.schema
        .createTable('workflow_attempts')
        .addColumn('execution_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', int64, (c) => c.notNull())
        .addColumn('ended_at', int64)
        .addColumn('error', 'text')
        .addColumn('log_path', 'text')
        .addColumn('worker', 'text')
        .addPrimaryKeyConstraint('workflow_attempts_pk', ['execution_id', 'node_id', 'attempt'])
        .addForeignKeyConstraint('workflow_attempts_node_fk', ['execution_id', 'node_id'], 'workflow_nodes', [
          'execution_id',
          'node_id',
        ])
        .execute();

      await db.schema
        .createTable('workflow_cache')
        .addColumn('cache_key', 'text', (c) => c.primaryKey())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addColumn('execution_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('hits', int64, (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('workflow_cache_reservations')
        .addColumn('cache_key', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('lease_until', int64, (c) => c.notNull())
        .execute();
    },
  };
}
