/** Keel's version, reported by `GET /version` and `keel --version`. */
export const KEEL_VERSION = '0.1.0';
