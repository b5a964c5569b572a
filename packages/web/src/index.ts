/**
 * `@keel/web` will hold the React web UI (issue 8), built to static files that the server serves.
 * Until then it only carries the list of pages the UI is planned to have, so the workspace,
 * build and import-boundary rules (web → core only) are in place from the start.
 */
export const PLANNED_PAGES = [
  'experiments',
  'runs',
  'compare',
  'artifacts',
  'models',
  'deployments',
  'workflows',
] as const;
