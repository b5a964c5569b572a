/**
 * Which preview an artifact file gets, from its name alone (the listing has no content types):
 * pure, so the choice is unit-tested and the same for every store.
 */

/** The previews the artifact browser knows. */
export type PreviewKind =
  | 'mlmodel'
  | 'json'
  | 'yaml'
  | 'csv'
  | 'tsv'
  | 'image'
  | 'html'
  | 'text'
  /** No known extension: the preview reads the start and shows it when it is text. */
  | 'unknown'
  /** A known binary format (models, archives, arrays): download only. */
  | 'binary';

const BY_EXTENSION: Readonly<Record<string, PreviewKind>> = {
  json: 'json',
  jsonl: 'text',
  ndjson: 'text',
  geojson: 'json',
  ipynb: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  csv: 'csv',
  tsv: 'tsv',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  svg: 'image',
  webp: 'image',
  bmp: 'image',
  ico: 'image',
  html: 'html',
  htm: 'html',
  txt: 'text',
  log: 'text',
  md: 'text',
  rst: 'text',
  py: 'text',
  ts: 'text',
  js: 'text',
  sh: 'text',
  r: 'text',
  sql: 'text',
  toml: 'text',
  ini: 'text',
  cfg: 'text',
  conf: 'text',
  xml: 'text',
  properties: 'text',
  pkl: 'binary',
  pickle: 'binary',
  joblib: 'binary',
  onnx: 'binary',
  pt: 'binary',
  pth: 'binary',
  bin: 'binary',
  safetensors: 'binary',
  h5: 'binary',
  hdf5: 'binary',
  keras: 'binary',
  pb: 'binary',
  npy: 'binary',
  npz: 'binary',
  parquet: 'binary',
  feather: 'binary',
  arrow: 'binary',
  avro: 'binary',
  orc: 'binary',
  zip: 'binary',
  gz: 'binary',
  tgz: 'binary',
  bz2: 'binary',
  xz: 'binary',
  zst: 'binary',
  tar: 'binary',
  whl: 'binary',
  jar: 'binary',
  so: 'binary',
  dll: 'binary',
  exe: 'binary',
  pdf: 'binary',
  mp3: 'binary',
  mp4: 'binary',
  wav: 'binary',
  webm: 'binary',
};

/** Extension-less files MLflow writes as text. */
const TEXT_NAMES = new Set(['MLproject', 'Dockerfile', 'LICENSE', 'README', 'Makefile']);

/**
 * The preview for a file at `path` (a run-relative path; only its last segment matters).
 *
 * @example
 * previewKind('model/MLmodel'); // 'mlmodel'
 * previewKind('eval/confusion.PNG'); // 'image'
 * previewKind('model/model.pkl'); // 'binary'
 * previewKind('notes'); // 'unknown'
 */
export function previewKind(path: string): PreviewKind {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'MLmodel') return 'mlmodel';
  if (TEXT_NAMES.has(name)) return 'text';
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'unknown';
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? 'unknown';
}

/**
 * True when the bytes look like UTF-8 text: no NUL byte and no invalid sequence (a sequence cut at
 * the very end, where a partial read stopped, is fine). Decides whether an `unknown` file is shown.
 */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  // Up to 3 trailing bytes may be the start of a character the read cut in two.
  for (let cut = 0; cut <= Math.min(3, bytes.length); cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - cut));
      return true;
    } catch {
      // Try again without one more trailing byte.
    }
  }
  return false;
}

/**
 * Decodes the bytes of a text file as UTF-8. When `partial`, a character cut in two at the end is
 * left out instead of showing as `�`.
 */
export function decodeText(bytes: Uint8Array, partial: boolean): string {
  return new TextDecoder('utf-8').decode(bytes, { stream: partial });
}
