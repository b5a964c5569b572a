/**
 * MLflow's validation limits (mlflow/utils/validation.py), which MLflow's own clients also
 * enforce before sending. Keel honours the same numbers so a batch accepted by one is accepted
 * by the other.
 */
export const LIMITS = {
  maxMetricsPerBatch: 1000,
  maxParamsPerBatch: 100,
  maxTagsPerBatch: 100,
  maxEntitiesPerBatch: 1000,
  maxKeyLength: 250,
  maxParamValueLength: 6000,
  maxRunTagValueLength: 8000,
  maxExperimentTagValueLength: 5000,
  maxExperimentNameLength: 500,
  maxDatasetNameLength: 500,
  maxDatasetDigestLength: 36,
  maxDatasetSourceLength: 65_535,
  maxDatasetSchemaLength: 1_048_575,
  maxDatasetProfileLength: 16_777_215,
  maxInputTagKeyLength: 255,
  maxInputTagValueLength: 500,
  maxDatasetsPerLogInputs: 1000,
  /** runs/search max_results: default and cap. */
  runsSearchDefault: 1000,
  runsSearchMax: 50_000,
  /** experiments/search max_results cap (clients send 1000 by default). */
  experimentsSearchDefault: 1000,
  experimentsSearchMax: 50_000,
  /** metrics/get-history page cap. */
  metricHistoryMaxPage: 25_000,
  /** metrics/get-history-bulk-interval. */
  bulkIntervalMaxRuns: 100,
  bulkIntervalMaxResults: 2500,
  /** experiments/search-datasets. */
  searchDatasetsMaxExperiments: 20,
} as const;
