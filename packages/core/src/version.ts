/** Keel's version, reported by `GET /version`, `keel --version` and the SDK's user agent. */
export const KEEL_VERSION = '0.1.0';
