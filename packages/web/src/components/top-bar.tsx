import { Link } from '../router/link';
import type { NavSection } from '../routes';
import { ThemeToggle } from './theme-toggle';

/** The top bar's sections, in order; each page's route names the one it belongs to. */
const NAV_ITEMS: readonly { section: NavSection; label: string; href: string }[] = [
  { section: 'experiments', label: 'Experiments', href: '/experiments' },
  { section: 'models', label: 'Models', href: '/models' },
  { section: 'deployments', label: 'Deployments', href: '/deployments' },
  { section: 'workflows', label: 'Workflows', href: '/workflows' },
];

/** Props of {@link TopBar}. */
export interface TopBarProps {
  /** The section of the current page, highlighted in the navigation. */
  active: NavSection | undefined;
}

/** Product name, main navigation and theme toggle. */
export function TopBar({ active }: TopBarProps) {
  return (
    <header className="topbar">
      <Link href="/" className="brand" aria-label="Keel home">
        <img src="/favicon.svg" alt="" className="brand-mark" />
        Keel
      </Link>
      <nav className="topnav" aria-label="Main">
        <ul>
          {NAV_ITEMS.map((item) => (
            <li key={item.section}>
              <Link href={item.href} aria-current={item.section === active ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="topbar-end">
        <ThemeToggle />
      </div>
    </header>
  );
}
