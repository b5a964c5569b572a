import type { ReactNode } from 'react';

/** Props of {@link EmptyState}. */
export interface EmptyStateProps {
  title: string;
  /** What the user can do next: a sentence, a snippet, a button. */
  children?: ReactNode;
}

/** What a page shows when it has nothing to list: says why and what to do about it. */
export function EmptyState({ title, children }: EmptyStateProps) {
  return (
    <section className="empty-state" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
