import { Suspense } from 'react';
import { TopBar } from './components/top-bar';
import { useLocation } from './router/history';
import { resolveRoute } from './routes';

/**
 * The app shell: skip link, top bar, and the page the URL names. The page is keyed by its path so
 * moving between two experiments starts the second one's page from a clean state.
 */
export function App() {
  const { pathname, query } = useLocation();
  const { route, params } = resolveRoute(pathname);
  const Page = route.page;
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar active={route.section} />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<p className="page muted loading-line">Loading…</p>}>
          <Page key={pathname} params={params} query={query} />
        </Suspense>
      </main>
    </div>
  );
}
