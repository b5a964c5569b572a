export {
  type DenseLayer,
  type ExportLinearModelOptions,
  type ExportMlpOptions,
  exportLinearModel,
  exportMlp,
  type LayerActivation,
  type LinearActivation,
  ONNX_BATCH_DIM,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxTensorNames,
} from './export-onnx.js';
export {
  type OnnxDataType,
  type OnnxModelInfo,
  type OnnxTensorInfo,
  onnxModelInfo,
} from './onnx-model-info.js';
