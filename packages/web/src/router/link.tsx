import type { AnchorHTMLAttributes, MouseEvent } from 'react';
import { navigate } from './history';

/** Props of {@link Link}: an anchor whose `href` is an in-app path. */
export interface LinkProps extends AnchorHTMLAttributes<HTMLAnchorElement> {
  href: string;
}

/**
 * An in-app link: a real `<a href>` (so middle-click, copy link and screen readers work) whose plain
 * left click navigates without a page load.
 *
 * @example
 * <Link href={`/runs/${run.info.run_id}`}>{run.info.run_name}</Link>
 */
export function Link({ href, onClick, ...rest }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || !isPlainLeftClick(event) || rest.target === '_blank') return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handleClick} {...rest} />;
}

function isPlainLeftClick(event: MouseEvent): boolean {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}
