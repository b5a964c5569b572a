import { invalidParameter, PROMPT_TAG_KEY, PROMPT_TEXT_TAG_KEY } from '@keel/core';
import type { Change } from '../changes/change.js';

/**
 * Everything Keel assumes about MLflow's webhook events lives in this file (see
 * docs/webhooks.md, "Assumptions"): the entity/action catalog, how events travel in the API, which
 * registry change fires which event, and the payload of each.
 */

/** MLflow's `WebhookEntity` values, in proto order (REGISTERED_MODEL = 1 …). */
export const WEBHOOK_ENTITIES = [
  'registered_model',
  'model_version',
  'model_version_tag',
  'model_version_alias',
  'prompt',
  'prompt_version',
  'prompt_tag',
  'prompt_version_tag',
  'prompt_alias',
] as const;

/** MLflow's `WebhookAction` values, in proto order (CREATED = 1 …). */
export const WEBHOOK_ACTIONS = ['created', 'updated', 'deleted', 'set'] as const;

/** An entity webhooks can subscribe to. */
export type WebhookEntity = (typeof WEBHOOK_ENTITIES)[number];
/** An action webhooks can subscribe to. */
export type WebhookAction = (typeof WEBHOOK_ACTIONS)[number];

/** One subscribable event, `{entity, action}`; its string form is `entity.action`. */
export interface WebhookEvent {
  readonly entity: WebhookEntity;
  readonly action: WebhookAction;
}

/** The entity/action pairs MLflow accepts (its `VALID_ENTITY_ACTIONS`). */
export const VALID_ENTITY_ACTIONS: Readonly<Record<WebhookEntity, readonly WebhookAction[]>> = {
  registered_model: ['created'],
  model_version: ['created'],
  model_version_tag: ['set', 'deleted'],
  model_version_alias: ['created', 'deleted'],
  prompt: ['created'],
  prompt_version: ['created'],
  prompt_tag: ['set', 'deleted'],
  prompt_version_tag: ['set', 'deleted'],
  prompt_alias: ['created', 'deleted'],
};

/** `model_version.created` */
export function eventKey(event: WebhookEvent): string {
  return `${event.entity}.${event.action}`;
}

/** Parses `entity.action` as stored; `undefined` for anything not in the catalog. */
export function parseEventKey(key: string): WebhookEvent | undefined {
  const [entity, action, extra] = key.split('.');
  if (extra !== undefined || entity === undefined || action === undefined) return undefined;
  const e = WEBHOOK_ENTITIES.find((x) => x === entity);
  const a = WEBHOOK_ACTIONS.find((x) => x === action);
  if (e === undefined || a === undefined || !VALID_ENTITY_ACTIONS[e].includes(a)) return undefined;
  return { entity: e, action: a };
}

/** An event as MLflow's API carries it: protobuf-JSON enum names, `{"entity": "MODEL_VERSION", "action": "CREATED"}`. */
export interface WireWebhookEvent {
  entity: string;
  action: string;
}

/** The wire form of an event. */
export function toWireEvent(event: WebhookEvent): WireWebhookEvent {
  return { entity: event.entity.toUpperCase(), action: event.action.toUpperCase() };
}

/**
 * Reads an event from a request. Accepts the enum name in any case (`MODEL_VERSION`,
 * `model_version`) or its proto number, as protobuf JSON does; rejects unknown names and
 * combinations MLflow does not allow, naming the field.
 */
export function parseWireEvent(raw: { entity: string; action: string }, field: string): WebhookEvent {
  const entity = enumValue(WEBHOOK_ENTITIES, raw.entity);
  if (entity === undefined) {
    throw invalidParameter(
      `Invalid value '${raw.entity}' for parameter '${field}.entity': expected one of ${WEBHOOK_ENTITIES.map((e) => e.toUpperCase()).join(', ')}`,
    );
  }
  const action = enumValue(WEBHOOK_ACTIONS, raw.action);
  if (action === undefined) {
    throw invalidParameter(
      `Invalid value '${raw.action}' for parameter '${field}.action': expected one of ${WEBHOOK_ACTIONS.map((a) => a.toUpperCase()).join(', ')}`,
    );
  }
  const valid = VALID_ENTITY_ACTIONS[entity];
  if (!valid.includes(action)) {
    throw invalidParameter(
      `Invalid action '${action}' for entity '${entity}' in parameter '${field}'. Valid actions are: ${valid.join(', ')}`,
    );
  }
  return { entity, action };
}

function enumValue<T extends string>(values: readonly T[], raw: string): T | undefined {
  const text = raw.trim();
  if (/^\d+$/.test(text)) return values[Number(text) - 1];
  return values.find((v) => v === text.toLowerCase());
}

/** A registry change turned into the event it fires and that event's `data`. */
export interface MappedEvent {
  readonly event: WebhookEvent;
  readonly data: Record<string, unknown>;
}

/**
 * The registered model a change is about, for the changes whose event depends on whether that
 * model is a prompt (tags, aliases, versions); `undefined` for the others.
 */
export function promptCandidate(change: Change): string | undefined {
  switch (change.action) {
    case 'model_version.created':
    case 'model_version_tag.set':
      return versionId(change.entityId, record(change.after)).name;
    case 'model_version_tag.deleted':
      return versionId(change.entityId, record(change.before)).name;
    case 'registered_model_tag.set':
    case 'registered_model_tag.deleted':
    case 'registered_model_alias.set':
    case 'registered_model_alias.deleted':
      return change.entityId;
    default:
      return undefined;
  }
}

/**
 * Maps a registry {@link Change} to the MLflow event it fires, with MLflow's payload; `undefined`
 * for changes that fire none (non-registry changes, renames, stage transitions…). A change to a
 * prompt — a registered model with the {@link PROMPT_TAG_KEY} tag (`promptModel`, as looked up by
 * the caller for {@link promptCandidate} changes), or a version carrying it — fires the
 * `prompt*` event instead of the model one; tags of a registered model fire events only for
 * prompts, as in MLflow.
 *
 * @example
 * toWebhookEvent({ action: 'model_version_tag.set', entity: 'model_version', entityId: 'm/1', after: { key: 'k', value: 'v' } })
 * // → { event: { entity: 'model_version_tag', action: 'set' }, data: { name: 'm', version: '1', key: 'k', value: 'v' } }
 */
export function toWebhookEvent(change: Change, promptModel = false): MappedEvent | undefined {
  const after = record(change.after);
  const before = record(change.before);
  switch (change.action) {
    case 'registered_model.created': {
      const tags = tagMap(after.tags);
      return {
        event: { entity: PROMPT_TAG_KEY in tags ? 'prompt' : 'registered_model', action: 'created' },
        data: {
          name: str(after.name) ?? change.entityId,
          tags,
          description: nonEmpty(str(after.description)) ?? null,
        },
      };
    }
    case 'model_version.created': {
      const id = versionId(change.entityId, after);
      const tags = tagMap(after.tags);
      const description = nonEmpty(str(after.description)) ?? null;
      if (promptModel || PROMPT_TAG_KEY in tags) {
        return {
          event: { entity: 'prompt_version', action: 'created' },
          data: { ...id, template: tags[PROMPT_TEXT_TAG_KEY] ?? '', tags, description },
        };
      }
      return {
        event: { entity: 'model_version', action: 'created' },
        data: {
          ...id,
          source: str(after.source) ?? '',
          run_id: nonEmpty(str(after.run_id)) ?? null,
          tags,
          description,
        },
      };
    }
    case 'model_version_tag.set':
      return {
        event: { entity: promptModel ? 'prompt_version_tag' : 'model_version_tag', action: 'set' },
        data: {
          ...versionId(change.entityId, after),
          key: str(after.key) ?? '',
          value: str(after.value) ?? '',
        },
      };
    case 'model_version_tag.deleted':
      return {
        event: { entity: promptModel ? 'prompt_version_tag' : 'model_version_tag', action: 'deleted' },
        data: { ...versionId(change.entityId, before), key: str(before.key) ?? '' },
      };
    case 'registered_model_tag.set':
      return promptModel
        ? {
            event: { entity: 'prompt_tag', action: 'set' },
            data: { name: change.entityId, key: str(after.key) ?? '', value: str(after.value) ?? '' },
          }
        : undefined;
    case 'registered_model_tag.deleted':
      return promptModel
        ? {
            event: { entity: 'prompt_tag', action: 'deleted' },
            data: { name: change.entityId, key: str(before.key) ?? '' },
          }
        : undefined;
    // MLflow fires `model_version_alias.created` whenever an alias is set, also when it moves.
    case 'registered_model_alias.set':
      return {
        event: { entity: promptModel ? 'prompt_alias' : 'model_version_alias', action: 'created' },
        data: {
          name: str(after.name) ?? change.entityId,
          alias: str(after.alias) ?? '',
          version: str(after.version) ?? '',
        },
      };
    case 'registered_model_alias.deleted':
      return {
        event: { entity: promptModel ? 'prompt_alias' : 'model_version_alias', action: 'deleted' },
        data: { name: str(before.name) ?? change.entityId, alias: str(before.alias) ?? '' },
      };
    default:
      return undefined;
  }
}

/** The example payload `webhooks/{id}/test` sends for an event (the shapes of MLflow's `example()` payloads). */
export function examplePayload(event: WebhookEvent): Record<string, unknown> {
  const prompt = event.entity.startsWith('prompt');
  const name = prompt ? 'example_prompt' : 'example_model';
  const tags = { example_key: 'example_value' };
  switch (event.entity) {
    case 'registered_model':
      return { name, tags, description: 'An example registered model' };
    case 'prompt':
      return { name, tags, description: 'An example prompt' };
    case 'model_version':
      return {
        name,
        version: '1',
        source: 'models:/123',
        run_id: 'abcd1234abcd5678',
        tags,
        description: 'An example model version',
      };
    case 'prompt_version':
      return {
        name,
        version: '1',
        template: 'Hello {{name}}!',
        tags,
        description: 'An example prompt version',
      };
    case 'model_version_tag':
    case 'prompt_version_tag':
    case 'prompt_tag': {
      const base = event.entity === 'prompt_tag' ? { name } : { name, version: '1' };
      return event.action === 'set'
        ? { ...base, key: 'example_key', value: 'example_value' }
        : { ...base, key: 'example_key' };
    }
    case 'model_version_alias':
    case 'prompt_alias':
      return event.action === 'created'
        ? { name, alias: 'example_alias', version: '1' }
        : { name, alias: 'example_alias' };
    default:
      return assertNever(event.entity);
  }
}

/**
 * The request body of a delivery: MLflow's envelope `{entity, action, timestamp, data}` with an
 * ISO-8601 UTC timestamp of when the event happened.
 */
export function deliveryBody(event: WebhookEvent, data: unknown, at: number): string {
  return JSON.stringify({
    entity: event.entity,
    action: event.action,
    timestamp: new Date(at).toISOString(),
    data,
  });
}

function versionId(entityId: string, value: Record<string, unknown>): { name: string; version: string } {
  const name = str(value.name);
  const version = str(value.version);
  if (name !== undefined && version !== undefined) return { name, version };
  // `name/version`: versions are numbers, so the last slash separates them even if a name has one.
  const slash = entityId.lastIndexOf('/');
  return {
    name: name ?? (slash === -1 ? entityId : entityId.slice(0, slash)),
    version: version ?? (slash === -1 ? '' : entityId.slice(slash + 1)),
  };
}

/** MLflow's wire tags `[{key, value}]` as the payload's `{key: value}` map. */
function tagMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const tag of value) {
      const t = record(tag);
      const key = str(t.key);
      if (key !== undefined) out[key] = str(t.value) ?? '';
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function assertNever(value: never): never {
  throw new Error(`unexpected webhook entity ${String(value)}`);
}
