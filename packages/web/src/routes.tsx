/**
 * The route table: every page of the UI, the path that shows it and the top-bar section it belongs
 * to. To add a page, write `pages/<area>/<name>-page.tsx` exporting a component that takes
 * {@link PageProps}, then add one line here (see packages/web/README.md).
 */
import { type ComponentType, lazy } from 'react';
import { matchPath, type RouteParams } from './router/match-route';

const ComparePage = lazyPage(() => import('./pages/compare/compare-page'), 'ComparePage');
const DeploymentPage = lazyPage(() => import('./pages/deployments/deployment-page'), 'DeploymentPage');
const DeploymentsPage = lazyPage(() => import('./pages/deployments/deployments-page'), 'DeploymentsPage');
const ExperimentRunsPage = lazyPage(
  () => import('./pages/experiments/experiment-runs-page'),
  'ExperimentRunsPage',
);
const ExperimentsPage = lazyPage(() => import('./pages/experiments/experiments-page'), 'ExperimentsPage');
const ModelPage = lazyPage(() => import('./pages/models/model-page'), 'ModelPage');
const ModelVersionPage = lazyPage(() => import('./pages/models/model-version-page'), 'ModelVersionPage');
const ModelsPage = lazyPage(() => import('./pages/models/models-page'), 'ModelsPage');
const NotFoundPage = lazyPage(() => import('./pages/not-found-page'), 'NotFoundPage');
const RunPage = lazyPage(() => import('./pages/runs/run-page'), 'RunPage');
const ExecutionPage = lazyPage(() => import('./pages/workflows/execution-page'), 'ExecutionPage');
const WorkflowsPage = lazyPage(() => import('./pages/workflows/workflows-page'), 'WorkflowsPage');

/** Sections of the top bar's navigation. */
export type NavSection = 'experiments' | 'models' | 'deployments' | 'workflows';

/**
 * A page loaded on first visit: each page is its own chunk, so the first load ships the shell and
 * the page in view only. App renders pages inside `<Suspense>`, which shows a loading line meanwhile.
 */
function lazyPage<Name extends string>(
  load: () => Promise<Record<Name, ComponentType<PageProps>>>,
  name: Name,
): ComponentType<PageProps> {
  return lazy(async () => {
    const page: ComponentType<PageProps> = (await load())[name];
    return { default: page };
  });
}

/** What every page component receives. */
export interface PageProps {
  /** The route's `:name` segments, decoded. */
  params: RouteParams;
  /** The URL's query: the page's view state. Change it with `navigate(hrefWithQuery(…))`. */
  query: URLSearchParams;
}

/** One entry of {@link ROUTES}. */
export interface RouteDefinition {
  /** Path pattern; `:name` segments become `params.name`. */
  path: string;
  page: ComponentType<PageProps>;
  /** Highlighted top-bar section. */
  section: NavSection | undefined;
}

/** Every page, matched in order; the first match wins. */
export const ROUTES: readonly RouteDefinition[] = [
  { path: '/', page: ExperimentsPage, section: 'experiments' },
  { path: '/experiments', page: ExperimentsPage, section: 'experiments' },
  { path: '/experiments/:id', page: ExperimentRunsPage, section: 'experiments' },
  { path: '/runs/:id', page: RunPage, section: 'experiments' },
  { path: '/compare', page: ComparePage, section: 'experiments' },
  { path: '/models', page: ModelsPage, section: 'models' },
  { path: '/models/:name', page: ModelPage, section: 'models' },
  { path: '/models/:name/versions/:version', page: ModelVersionPage, section: 'models' },
  { path: '/deployments', page: DeploymentsPage, section: 'deployments' },
  { path: '/deployments/:name', page: DeploymentPage, section: 'deployments' },
  { path: '/workflows', page: WorkflowsPage, section: 'workflows' },
  { path: '/executions/:id', page: ExecutionPage, section: 'workflows' },
];

/** The route for a path that matches none of {@link ROUTES}. */
export const NOT_FOUND_ROUTE: RouteDefinition = { path: '*', page: NotFoundPage, section: undefined };

/** Finds the route showing `pathname` and its parameters ({@link NOT_FOUND_ROUTE} when none does). */
export function resolveRoute(pathname: string): { route: RouteDefinition; params: RouteParams } {
  for (const route of ROUTES) {
    const params = matchPath(route.path, pathname);
    if (params !== undefined) return { route, params };
  }
  return { route: NOT_FOUND_ROUTE, params: {} };
}
