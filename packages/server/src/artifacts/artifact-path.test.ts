import { describe, expect, it } from 'vitest';
import { validateArtifactPath } from './artifact-path.js';
import { proxiedArtifactPath } from './proxied-uri.js';

const refused = (value: string, options: Parameters<typeof validateArtifactPath>[1] = {}) => {
  try {
    validateArtifactPath(value, options);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`'${value}' was accepted`);
};

describe('validateArtifactPath', () => {
  it.each([
    ['model.onnx', 'model.onnx'],
    ['a/b/c.txt', 'a/b/c.txt'],
    ['a//b/./c.txt/', 'a/b/c.txt'],
    ['with space & ünïcode.txt', 'with space & ünïcode.txt'],
    ['100%.txt', '100%.txt'],
    ['..hidden/x..y', '..hidden/x..y'],
  ])('accepts %j as %j', (input, expected) => {
    expect(validateArtifactPath(input)).toBe(expected);
  });

  it.each([
    ['a%20b/c%C3%A9.txt', 'a b/cé.txt'],
    ['dir/file.txt', 'dir/file.txt'],
  ])('decodes the raw URL form %j once', (input, expected) => {
    expect(validateArtifactPath(input, { encoded: true })).toBe(expected);
  });

  it.each([
    ['..', {}],
    ['../etc/passwd', {}],
    ['a/../../b', {}],
    ['a/..', {}],
    ['/etc/passwd', {}],
    ['C:\\Windows', {}],
    ['c:relative', {}],
    ['a\\..\\b', {}],
    ['\\..\\x', {}],
    ['a\u0000b', {}],
    ['a\nb', {}],
    ['%2e%2e/x', {}],
    ['%2E%2E%2Fx', {}],
    ['a%2fb', {}],
    ['%252e%252e/x', {}],
    ['x'.repeat(256), {}],
    ['', {}],
    ['./', {}],
    ['%2e%2e/x', { encoded: true }],
    ['%2E%2E%2Fetc', { encoded: true }],
    ['a%2Fb', { encoded: true }],
    ['%252e%252e/x', { encoded: true }],
    ['%5c..%5cx', { encoded: true }],
    ['a%00b', { encoded: true }],
    ['%2Fetc%2Fpasswd', { encoded: true }],
    ['/etc/passwd', { encoded: true }],
    ['%E0%A4%A', { encoded: true }],
  ])('refuses %j (%o) with INVALID_PARAMETER_VALUE naming the path', (input, options) => {
    const error = refused(input, options);
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain("parameter 'path'");
  });

  it('accepts the root only when asked to', () => {
    expect(validateArtifactPath('', { allowRoot: true })).toBe('');
    expect(validateArtifactPath('.', { allowRoot: true })).toBe('');
    expect(refused('').code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('names the field it was given', () => {
    expect(refused('../x', { field: 'artifact_uri' }).message).toContain("'artifact_uri'");
  });
});

describe('proxiedArtifactPath', () => {
  it('maps mlflow-artifacts URIs, with or without an authority, to store paths', () => {
    expect(proxiedArtifactPath('mlflow-artifacts:/0/abc/artifacts')).toBe('0/abc/artifacts');
    expect(proxiedArtifactPath('mlflow-artifacts://localhost:5000/3/def/artifacts')).toBe('3/def/artifacts');
    expect(proxiedArtifactPath('mlflow-artifacts:/')).toBe('');
  });

  it('returns undefined for URIs Keel does not serve', () => {
    expect(proxiedArtifactPath('s3://bucket/0/abc/artifacts')).toBeUndefined();
    expect(proxiedArtifactPath('file:///tmp/x')).toBeUndefined();
  });

  it('refuses a hand-made URI that would escape the store', () => {
    expect(() => proxiedArtifactPath('mlflow-artifacts:/../../etc')).toThrow(/artifact_uri/);
  });
});
