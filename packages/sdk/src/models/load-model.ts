import { KeelClient, type KeelClientOptions } from '../keel-client.js';
import type { LoadedModel } from './local-model.js';
import type { LoadModelOptions } from './open-model.js';

/** Options of the standalone {@link loadModel}: {@link LoadModelOptions} plus how to reach the server. */
export interface StandaloneLoadModelOptions extends LoadModelOptions {
  /** The client to fetch `runs:/` and `models:/` URIs with. @default `new KeelClient(clientOptions)` */
  client?: KeelClient;
  /** Options of the client created when `client` is not given. @default {} (the tracking URI from the environment) */
  clientOptions?: KeelClientOptions;
}

/**
 * Loads a model in this process and returns it ready to `predict()`: a local path, `file:` URL,
 * `runs:/<run id>/<path>`, `models:/<name>/<version>`, `models:/<name>@<alias>`,
 * `models:/<name>/<stage>` or `models:/<name>/latest`. Server URIs are downloaded through the
 * tracking server (`KEEL_TRACKING_URI` unless `client` or `clientOptions` say otherwise) into
 * `dstPath` or a temporary folder that `close()` removes. Needs `@keel/server` installed (an
 * optional peer dependency: the SDK itself never imports it otherwise).
 *
 * @throws ModelRuntimeNotInstalledError without `@keel/server`; NotFoundError for an unknown run,
 *   model, version, alias or stage; InvalidParameterError for a malformed URI, a folder without
 *   `MLmodel`, or an unsupported flavor.
 * @example
 * import { loadModel } from '@keel/sdk';
 * const model = await loadModel('models:/fraud@champion');
 * const output = await model.predict([{ amount: 120.5, country: 'NO' }]);
 * await model.close();
 */
export function loadModel(uri: string, options: StandaloneLoadModelOptions = {}): Promise<LoadedModel> {
  const { client, clientOptions, ...rest } = options;
  return (client ?? new KeelClient(clientOptions)).loadModel(uri, rest);
}
