import { RUN_STATUSES, VIEW_TYPES } from '@keel/core';
import { Type } from '@sinclair/typebox';

/** `{key, value}` as experiment tags, run tags and params travel; value may be omitted (empty). */
export const KeyValueSchema = Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) });

/** MLflow's ViewType; by name, or by its proto number (ACTIVE_ONLY=1, DELETED_ONLY=2, ALL=3). */
export const ViewTypeSchema = Type.Union(
  VIEW_TYPES.map((v) => Type.Literal(v)),
  { protoEnum: true },
);

/** MLflow's RunStatus; by name, or by its proto number (RUNNING=1 … KILLED=5). */
export const RunStatusSchema = Type.Union(
  RUN_STATUSES.map((s) => Type.Literal(s)),
  { protoEnum: true },
);

/** A decoded `{key, value?}` with the missing value read as empty, as protobuf defaults it. */
export function keyValue(kv: { key: string; value?: string }): { key: string; value: string } {
  return { key: kv.key, value: kv.value ?? '' };
}
