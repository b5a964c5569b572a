export {
  AlreadyExistsError,
  apiErrorFromResponse,
  InvalidParameterError,
  KeelApiError,
  KeelConnectionError,
  NotFoundError,
} from './errors.js';
export {
  DEFAULT_TRACKING_URI,
  KeelRestClient,
  type KeelRestClientOptions,
  MLFLOW_API_PREFIX,
  type QueryValue,
  type ResolvedRestClientOptions,
  resolveTrackingUri,
} from './rest-client.js';
