import { describe, expect, it } from 'vitest';
import { decodeText, looksLikeText, previewKind } from './preview-kind';

describe('previewKind', () => {
  it('picks a preview from the file name', () => {
    expect(previewKind('model/MLmodel')).toBe('mlmodel');
    expect(previewKind('metrics.json')).toBe('json');
    expect(previewKind('conf/params.YML')).toBe('yaml');
    expect(previewKind('data/sample.csv')).toBe('csv');
    expect(previewKind('data/sample.tsv')).toBe('tsv');
    expect(previewKind('plots/roc.svg')).toBe('image');
    expect(previewKind('plots/loss.PNG')).toBe('image');
    expect(previewKind('report/index.html')).toBe('html');
    expect(previewKind('train.log')).toBe('text');
    expect(previewKind('MLproject')).toBe('text');
  });

  it('marks binary formats download-only and unknown names for sniffing', () => {
    expect(previewKind('model/model.pkl')).toBe('binary');
    expect(previewKind('weights.safetensors')).toBe('binary');
    expect(previewKind('notes')).toBe('unknown');
    expect(previewKind('.hidden')).toBe('unknown');
    expect(previewKind('file.weird')).toBe('unknown');
  });
});

describe('looksLikeText', () => {
  const utf8 = (text: string) => new TextEncoder().encode(text);

  it('accepts UTF-8 text, even cut inside a character', () => {
    expect(looksLikeText(utf8('plain ascii\n'))).toBe(true);
    const accented = utf8('café ☕');
    expect(looksLikeText(accented)).toBe(true);
    expect(looksLikeText(accented.subarray(0, accented.length - 1))).toBe(true);
  });

  it('refuses NUL bytes and invalid sequences', () => {
    expect(looksLikeText(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00]))).toBe(false);
    expect(looksLikeText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x41]))).toBe(false);
  });
});

describe('decodeText', () => {
  it('drops a character cut at the end of a partial read', () => {
    const bytes = new TextEncoder().encode('ok ☕');
    expect(decodeText(bytes.subarray(0, bytes.length - 1), true)).toBe('ok ');
    expect(decodeText(bytes, false)).toBe('ok ☕');
  });
});
