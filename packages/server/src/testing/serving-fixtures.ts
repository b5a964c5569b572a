/**
 * Model directories and a scripted model for the model server's tests. The ONNX bytes come from the
 * caller (built with the SDK's `exportMlp` in the test), so this module needs no SDK import.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type MLmodel,
  type ModelInput,
  type Schema,
  type Signature,
  serializeMLmodel,
  serializeSignature,
} from '@keel/core';
import type { Model, ModelMetadata, ModelOutput } from '../models/model.js';

function mlmodelWith(flavors: MLmodel['flavors'], signature: Signature | undefined): string {
  return serializeMLmodel({
    artifact_path: 'model',
    flavors,
    ...(signature === undefined ? {} : { signature: serializeSignature(signature) }),
  });
}

/** Writes an `onnx`-flavor model directory (`model.onnx` + `MLmodel`), creating `dir`; returns `dir`. */
export async function writeOnnxModelDir(
  dir: string,
  onnx: Uint8Array,
  signature?: Signature,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  const flavor = { data: 'model.onnx', onnx_version: '1.17.0', providers: ['CPUExecutionProvider'] };
  await writeFile(join(dir, 'MLmodel'), mlmodelWith({ onnx: flavor }, signature));
  return dir;
}

/** Writes a `js`-flavor model directory whose module (`code/model.mjs`) is `source`; returns `dir`. */
export async function writeJsModelDir(dir: string, source: string, signature?: Signature): Promise<string> {
  await mkdir(join(dir, 'code'), { recursive: true });
  await writeFile(join(dir, 'code', 'model.mjs'), source);
  await writeFile(join(dir, 'MLmodel'), mlmodelWith({ js: { entry: 'code/model.mjs' } }, signature));
  return dir;
}

/** A tensor-based schema of float32 tensors, e.g. `float32Tensors({ input: [-1, 30] })`. */
export function float32Tensors(shapes: Record<string, number[]>): Schema {
  return {
    kind: 'tensors',
    tensors: Object.entries(shapes).map(([name, shape]) => ({
      type: 'tensor',
      dtype: 'float32',
      shape,
      name,
    })),
  };
}

/** A promise the test opens when it wants, to hold a model call in flight. */
/** Echoes every input tensor (or column) back as an output of the same name: a scripted model's answer. */
export function echo(input: ModelInput): ModelOutput {
  if (input.kind === 'columns') return { kind: 'columns', columns: input.columns, rowCount: input.rowCount };
  const tensors = Object.fromEntries(
    Object.entries(input.tensors).map(([name, t]) => [name, { data: t.data as number[], shape: t.shape }]),
  );
  return { kind: 'tensors', tensors };
}

export class Gate {
  readonly opened: Promise<void>;
  #open: () => void = () => undefined;

  constructor() {
    this.opened = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  open(): void {
    this.#open();
  }
}

/** Options of {@link ScriptedModel}. */
export interface ScriptedModelOptions {
  /** @default 'scripted' */
  name?: string;
  /** @default 'js' */
  flavor?: string;
  signature?: Signature;
  workerCount?: number;
  predict: (
    input: ModelInput,
    params: Record<string, unknown> | undefined,
  ) => ModelOutput | Promise<ModelOutput>;
}

/**
 * An in-process {@link Model} whose `predict` is a function of the test: for what a real flavor cannot
 * be made to do on cue (hold a call until a gate opens, flip readiness). Records every call.
 */
export class ScriptedModel implements Model {
  readonly metadata: ModelMetadata;
  readonly signature: Signature | undefined;
  readonly workerCount: number | undefined;
  /** Readiness the server reports; tests flip it. */
  ready = true;
  /** Every `predict` call, in order. */
  readonly calls: { input: ModelInput; params: Record<string, unknown> | undefined }[] = [];
  closed = false;
  readonly #predict: ScriptedModelOptions['predict'];

  constructor(options: ScriptedModelOptions) {
    this.metadata = {
      name: options.name ?? 'scripted',
      flavor: options.flavor ?? 'js',
      mlmodel: { flavors: {} },
    };
    this.signature = options.signature;
    this.workerCount = options.workerCount;
    this.#predict = options.predict;
  }

  async predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput> {
    this.calls.push({ input, params });
    return this.#predict(input, params);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
