import { PageHeader } from '../components/page-header';
import { Link } from '../router/link';

/** Any path no route matches. */
export function NotFoundPage() {
  return (
    <div className="page">
      <PageHeader title="Page not found" />
      <p>
        There is no page at <code>{window.location.pathname}</code>. Go to the{' '}
        <Link href="/experiments">experiments</Link>.
      </p>
    </div>
  );
}
