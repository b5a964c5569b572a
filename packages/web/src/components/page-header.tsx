import type { ReactNode } from 'react';
import { Link } from '../router/link';

/** One step of a page's breadcrumb trail. */
export interface Crumb {
  label: string;
  href: string;
}

/** Props of {@link PageHeader}. */
export interface PageHeaderProps {
  title: ReactNode;
  /** A line under the title (ids, counts). */
  subtitle?: ReactNode;
  /** Links to the pages above this one, outermost first. */
  breadcrumbs?: readonly Crumb[];
  /** Buttons at the right end. */
  actions?: ReactNode;
}

/** The heading block every page starts with: breadcrumbs, the page's one `<h1>`, actions. */
export function PageHeader({ title, subtitle, breadcrumbs, actions }: PageHeaderProps) {
  return (
    <div className="page-header">
      <div>
        {breadcrumbs && breadcrumbs.length > 0 && (
          <nav className="breadcrumbs" aria-label="Breadcrumb">
            <ol>
              {breadcrumbs.map((crumb) => (
                <li key={crumb.href}>
                  <Link href={crumb.href}>{crumb.label}</Link>
                </li>
              ))}
            </ol>
          </nav>
        )}
        <h1>{title}</h1>
        {subtitle !== undefined && <p className="subtitle">{subtitle}</p>}
      </div>
      {actions !== undefined && <div className="page-actions">{actions}</div>}
    </div>
  );
}
