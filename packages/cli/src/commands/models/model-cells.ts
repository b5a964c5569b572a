import type { RegisteredModel } from '@keel/core';

/**
 * A model's latest version per stage for a table cell, e.g. `None:3 Production:2`; `-` when it
 * has no versions.
 */
export function latestVersionsCell(model: RegisteredModel): string {
  const latest = model.latest_versions ?? [];
  return latest.length === 0 ? '-' : latest.map((v) => `${v.current_stage}:${v.version}`).join(' ');
}

/** A model's aliases for a table cell, e.g. `champion=3 challenger=4`; `-` when none. */
export function aliasesCell(model: RegisteredModel): string {
  const aliases = model.aliases ?? [];
  return aliases.length === 0 ? '-' : aliases.map((a) => `${a.alias}=${a.version}`).join(' ');
}

/**
 * A search-filter clause matching one model by name. MLflow's filter strings have no escape
 * character, so a name containing `'` is quoted with `"` instead.
 *
 * @example
 * nameClause('churn'); // "name = 'churn'"
 */
export function nameClause(name: string): string {
  return name.includes("'") ? `name = "${name}"` : `name = '${name}'`;
}
