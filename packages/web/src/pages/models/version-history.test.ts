import type { AuditEvent } from '@keel/core';
import { describe, expect, it } from 'vitest';
import { describeVersionEvent, versionHistory } from './version-history';

let seq = 0;
function event(action: string, entity: string, before?: unknown, after?: unknown): AuditEvent {
  seq += 1;
  return {
    seq,
    event_id: `e${seq}`,
    time: 1_700_000_000_000 + seq,
    actor: 'ada',
    request_id: `r${seq}`,
    action,
    entity,
    entity_id: entity === 'model_version' ? 'churn/2' : 'churn',
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
    prev_hash: '0',
    hash: '1',
  };
}

describe('versionHistory', () => {
  it("merges the version's events with the alias events that concern it, by seq", () => {
    const created = event('model_version.created', 'model_version', undefined, { source: 'runs:/r/model' });
    const otherAlias = event('registered_model_alias.set', 'registered_model', undefined, {
      alias: 'old',
      version: '1',
    });
    const set = event('registered_model_alias.set', 'registered_model', undefined, {
      alias: 'champion',
      version: '2',
    });
    const tag = event('registered_model_tag.set', 'registered_model', undefined, { key: 'team', value: 'x' });
    const movedAway = event(
      'registered_model_alias.set',
      'registered_model',
      { alias: 'champion', version: '2' },
      { alias: 'champion', version: '3' },
    );
    const history = versionHistory([created], [otherAlias, set, tag, movedAway, set], '2');
    expect(history.map((e) => e.seq)).toEqual([created.seq, set.seq, movedAway.seq]);
  });
});

describe('describeVersionEvent', () => {
  it('says what changed, from the point of view of the version', () => {
    const cases: [AuditEvent, string][] = [
      [
        event('model_version.created', 'model_version', undefined, { source: 'runs:/abc/model' }),
        'registered from runs:/abc/model',
      ],
      [
        event(
          'model_version.stage_transitioned',
          'model_version',
          { current_stage: 'None' },
          { current_stage: 'Production' },
        ),
        'stage None → Production',
      ],
      [
        event(
          'model_version.updated',
          'model_version',
          { description: 'a', last_updated_timestamp: 1 },
          { description: 'b', last_updated_timestamp: 2 },
        ),
        'description: a → b',
      ],
      [
        event('model_version_tag.set', 'model_version', undefined, { key: 'auc', value: '0.9' }),
        'tag auc = 0.9',
      ],
      [
        event(
          'model_version_tag.set',
          'model_version',
          { key: 'auc', value: '0.8' },
          { key: 'auc', value: '0.9' },
        ),
        'tag auc: 0.8 → 0.9',
      ],
      [
        event('model_version_tag.deleted', 'model_version', { key: 'auc', value: '0.9' }),
        'tag auc deleted (was 0.9)',
      ],
      [
        event('registered_model_alias.set', 'registered_model', undefined, {
          alias: 'champion',
          version: '2',
        }),
        "alias 'champion' set",
      ],
      [
        event(
          'registered_model_alias.set',
          'registered_model',
          { alias: 'champion', version: '1' },
          { alias: 'champion', version: '2' },
        ),
        "alias 'champion' moved here from version 1",
      ],
      [
        event(
          'registered_model_alias.set',
          'registered_model',
          { alias: 'champion', version: '2' },
          { alias: 'champion', version: '3' },
        ),
        "alias 'champion' moved to version 3",
      ],
      [
        event('registered_model_alias.deleted', 'registered_model', { alias: 'champion', version: '2' }),
        "alias 'champion' deleted",
      ],
    ];
    for (const [input, expected] of cases) expect(describeVersionEvent(input, '2')).toBe(expected);
  });
});
