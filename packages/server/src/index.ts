export { type AppOptions, buildApp, MAX_BODY_BYTES } from './app.js';
export {
  CONFIG_ENV,
  defaultDataDir,
  resolveServerConfig,
  type ServerConfig,
  type ServerConfigInput,
} from './config.js';
export type { GcItemResult, GcOptions } from './services/gc-service.js';
export { createServices, type Services } from './services/services.js';
export { BACKEND_STORE_SCHEMES, migrateToLatest, openStore, type StoreConnection } from './store/database.js';
export { KEEL_VERSION } from './version.js';
