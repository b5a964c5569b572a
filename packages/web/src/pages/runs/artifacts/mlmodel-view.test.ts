import { describe, expect, it } from 'vitest';
import { configValue, signatureFields, signatureParams, typeText } from './mlmodel-view';

describe('signatureFields', () => {
  it('reads column specs with names, types and required flags', () => {
    const json =
      '[{"type": "double", "name": "tenure", "required": true}, {"type": "string", "name": "plan", "required": false}, {"type": "long"}]';
    expect(signatureFields(json)).toEqual([
      { name: 'tenure', type: 'double', shape: undefined, required: true },
      { name: 'plan', type: 'string', shape: undefined, required: false },
      { name: '', type: 'long', shape: undefined, required: true },
    ]);
  });

  it('reads tensor specs as dtype and shape', () => {
    expect(
      signatureFields(
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "x"}]',
      ),
    ).toEqual([{ name: 'x', type: 'float32', shape: '[-1, 4]', required: undefined }]);
  });

  it('refuses text that is not a JSON list', () => {
    expect(() => signatureFields('{"type": "double"}')).toThrow(/JSON list/);
    expect(() => signatureFields('not json')).toThrow();
  });
});

describe('typeText', () => {
  it("spells MLflow's nested types", () => {
    expect(typeText({ type: 'array', items: { type: 'string' } })).toBe('array<string>');
    expect(typeText({ type: 'map', values: { type: 'double' } })).toBe('map<double>');
    expect(
      typeText({
        type: 'object',
        properties: { a: { type: 'long' }, b: { type: 'array', items: { type: 'double' } } },
      }),
    ).toBe('object{a: long, b: array<double>}');
  });
});

describe('signatureParams', () => {
  it('reads names, types, defaults and shapes', () => {
    expect(
      signatureParams(
        '[{"name": "temperature", "type": "float", "default": 0.7, "shape": null}, {"name": "k", "type": "long", "default": 3, "shape": [-1]}]',
      ),
    ).toEqual([
      { name: 'temperature', type: 'float', defaultValue: '0.7', shape: undefined },
      { name: 'k', type: 'long', defaultValue: '3', shape: '[-1]' },
    ]);
  });
});

describe('configValue', () => {
  it('shows strings as they are and the rest as JSON', () => {
    expect(configValue('model.pkl')).toBe('model.pkl');
    expect(configValue({ conda: 'conda.yaml' })).toBe('{"conda":"conda.yaml"}');
    expect(configValue(null)).toBe('null');
    expect(configValue(3)).toBe('3');
  });
});
