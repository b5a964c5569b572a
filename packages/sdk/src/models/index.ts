export { type DownloadedModel, localModelPath, REGISTERED_MODEL_META_FILE } from './download-model.js';
export { inferSignatureFromExample } from './infer-signature.js';
export {
  type EncodedInputExample,
  encodeInputExample,
  INPUT_EXAMPLE_FILE,
  SERVING_INPUT_EXAMPLE_FILE,
} from './input-example.js';
export { JS_DATA_DIR, JS_ENTRY_FILE, type JsFlavorOptions } from './js-flavor.js';
export { loadModel, type StandaloneLoadModelOptions } from './load-model.js';
export {
  type LoadedModel,
  type LoadedModelMetadata,
  MODEL_RUNTIME_PACKAGE,
  type ModelRuntimeOptions,
} from './local-model.js';
export {
  DEFAULT_MODEL_ARTIFACT_PATH,
  type LoggedModel,
  type LogModelExtraOptions,
  type LogModelOptions,
} from './log-model.js';
export { type NumericTypedArray, type PredictInput, type PredictOutput, toModelInput } from './model-io.js';
export { ONNX_MODEL_FILE, type OnnxFlavorOptions } from './onnx-flavor.js';
export type { LoadModelOptions } from './open-model.js';
export { PROCESS_PROTOCOL, type ProcessFlavorOptions } from './process-flavor.js';
export {
  MLMODEL_FILE,
  type ModelSaveCommonOptions,
  mlflowUtcTime,
  SAVE_MODEL_FLAVORS,
  type SavedModel,
  type SaveModelOptions,
  saveModel,
} from './save-model.js';
