import { Type } from '@sinclair/typebox';
import { type AnyRpc, KEEL_PREFIXES, rpc } from '../http/rpc.js';
import { type LineageService, lineageRootOf } from '../services/lineage-service.js';

/** `GET /api/2.0/keel/lineage?model=<name>&version=<n>` or `?run_id=<id>` (see docs/lineage.md). */
export function lineageRpcs(lineage: LineageService): AnyRpc[] {
  return [
    rpc({
      methods: ['GET'],
      path: '/lineage',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({
        model: Type.Optional(Type.String()),
        version: Type.Optional(Type.String()),
        run_id: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const root = lineageRootOf(m);
        return root.kind === 'run'
          ? lineage.ofRun(root.runId)
          : lineage.ofModelVersion(root.model, root.version);
      },
    }),
  ];
}
