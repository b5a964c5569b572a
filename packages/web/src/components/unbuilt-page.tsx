import type { ReactNode } from 'react';
import { type Crumb, PageHeader } from './page-header';

/** Props of {@link UnbuiltPage}. */
export interface UnbuiltPageProps {
  title: ReactNode;
  breadcrumbs?: readonly Crumb[];
  /** What this page will show, and where its data is available until then (API path, CLI command). */
  children: ReactNode;
}

/**
 * The body of a route whose page is not written yet: a header and a note on where to find the data
 * meanwhile. Each such route has its own small page component (see `routes.tsx`) so the one that
 * builds it replaces that file only.
 */
export function UnbuiltPage({ title, breadcrumbs, children }: UnbuiltPageProps) {
  return (
    <div className="page">
      <PageHeader title={title} {...(breadcrumbs ? { breadcrumbs } : {})} />
      <div className="notice">{children}</div>
    </div>
  );
}
