import { invalidParameter } from '@keel/core';
import { modelProtoType, ONNX_DATA_TYPES } from './onnx-schema.js';

/** An element type as ONNX names it, in numpy spelling (`float32`, `int64`, …); `unknown` otherwise. */
export type OnnxDataType = (typeof ONNX_DATA_TYPES)[keyof typeof ONNX_DATA_TYPES] | 'unknown';

/**
 * One graph input or output, in the terms of MLflow's tensor-based signatures.
 * @example { name: 'input', dtype: 'float32', shape: [-1, 30], dimNames: ['batch', null] }
 */
export interface OnnxTensorInfo {
  name: string;
  /** Element type; `unknown` for non-tensor values (sequences, maps) and types this reader does not know. */
  dtype: OnnxDataType;
  /** Dimensions, `-1` for symbolic or unknown ones; `undefined` when the graph does not declare a rank. */
  shape: number[] | undefined;
  /** The symbolic name of each dimension (`batch`, `N`), `null` where the dimension is fixed or unnamed. */
  dimNames: (string | null)[] | undefined;
}

/**
 * What {@link onnxModelInfo} reads from an ONNX file's header and graph signature.
 * @example { irVersion: 8, producerName: 'keel', opsets: [{ domain: '', version: 17 }], inputs: [...], outputs: [...] }
 */
export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Operator sets the model imports; domain `''` is the default `ai.onnx` domain. */
  opsets: { domain: string; version: number }[];
  /** Graph inputs the caller feeds (initializers that old IR versions also list as inputs are left out). */
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
}

interface DecodedValueInfo {
  name?: string;
  type?: {
    tensor_type?: {
      elem_type?: number;
      shape?: { dim?: { dim_value?: number; dim_param?: string }[] };
    };
  };
}

interface DecodedModel {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  opset_import?: { domain?: string; version?: number }[];
  graph?: {
    input?: DecodedValueInfo[];
    output?: DecodedValueInfo[];
    initializer?: { name?: string }[];
  };
}

/**
 * Decodes an ONNX model's header and its inputs and outputs (names, element types, shapes) without
 * loading a runtime — the data a tensor signature is built from. Works for models from any exporter.
 *
 * @throws KeelError `INVALID_PARAMETER_VALUE` when the bytes are not an ONNX model with a graph.
 * @example
 * const info = onnxModelInfo(await readFile('model.onnx'));
 * info.inputs; // [{ name: 'input', dtype: 'float32', shape: [-1, 30], dimNames: ['batch', null] }]
 */
export function onnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  const type = modelProtoType();
  let model: DecodedModel;
  try {
    model = type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as DecodedModel;
  } catch (error) {
    throw invalidParameter(`Not an ONNX model: ${(error as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw invalidParameter('Not an ONNX model: it has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    irVersion: model.ir_version ?? 0,
    producerName: model.producer_name ?? '',
    producerVersion: model.producer_version ?? '',
    opsets: (model.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 })),
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name)).map(tensorInfo),
    outputs: (graph.output ?? []).map(tensorInfo),
  };
}

function tensorInfo(value: DecodedValueInfo): OnnxTensorInfo {
  const tensor = value.type?.tensor_type;
  const dims = tensor?.shape?.dim;
  const elemType = tensor?.elem_type ?? -1;
  return {
    name: value.name ?? '',
    dtype: (ONNX_DATA_TYPES as Record<number, OnnxDataType>)[elemType] ?? 'unknown',
    shape: dims?.map((d) => (d.dim_value !== undefined && d.dim_value > 0 ? d.dim_value : -1)),
    dimNames: dims?.map((d) => d.dim_param || null),
  };
}
