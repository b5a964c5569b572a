/** Keel's version lives in `@keel/core` so that clients can report it without loading the server. */
export { KEEL_VERSION } from '@keel/core';
