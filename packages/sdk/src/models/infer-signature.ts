import { inferSignature, type Signature } from '@keel/core';
import { classifyInput, isModelInput } from './model-io.js';
import { toSdkError } from './sdk-error.js';

/**
 * Infers a model signature from an input example (and optionally an output example), as MLflow's
 * `infer_signature` does; core's `inferSignature` with the SDK's input forms and errors:
 *
 * - rows (`[{ age: 42, city: 'Oslo' }]`) or columns (`{ age: [42], city: ['Oslo'] }`) → column
 *   inputs: integers `long`, other numbers `double`, strings `string`, booleans `boolean`, `Date`
 *   `datetime`, `Uint8Array` `binary`; a column with a missing value is optional;
 * - nested numbers (`[[5.1, 3.5]]`) → one tensor, shape `[-1, …]`, dtype `int64` or `float64`
 *   (`float32` for `Float32Array` leaves); an object of nested arrays → one named tensor each;
 * - a `ModelInput` → its columns or tensors.
 *
 * Note that an integral JS number is a `long`: give a `double` column at least one non-integral
 * value in the example, or pass the signature yourself.
 *
 * @throws InvalidParameterError naming the column for ragged arrays, mixed or unsupported types,
 *   or an all-null column.
 * @example
 * inferSignatureFromExample([{ age: 42, income: 55_000.5 }], [0.93]);
 * // { inputs: columns age: long, income: double; outputs: tensor float64 [-1] }
 */
export function inferSignatureFromExample(inputExample: unknown, outputExample?: unknown): Signature {
  try {
    return inferSignature(
      asPlainExample(inputExample),
      outputExample === undefined ? undefined : asPlainExample(outputExample),
    );
  } catch (error) {
    throw toSdkError(error);
  }
}

/** A `ModelInput` as the plain columns or nested arrays `inferSignature` reads; anything else as is. */
function asPlainExample(example: unknown): unknown {
  if (!isModelInput(example)) return example;
  const form = classifyInput(example);
  return form.form === 'dataframe' ? form.columns : form.value;
}
