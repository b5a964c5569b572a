import type { KeyboardEvent } from 'react';
import { hrefWithQuery, navigate } from '../../router/history';
import { Link } from '../../router/link';
import { RUN_TABS, type RunTab, runViewQuery } from './run-view-state';

const LABELS: Record<RunTab, string> = {
  overview: 'Overview',
  params: 'Parameters',
  metrics: 'Metrics',
  tags: 'Tags',
  artifacts: 'Artifacts',
};

/** Props of {@link RunTabs}. */
export interface RunTabsProps {
  runId: string;
  current: RunTab;
  /** Shown after a tab's name, e.g. `Parameters 12`. */
  counts: Partial<Record<RunTab, number>>;
}

/**
 * The run page's tab bar: links (so a tab can be opened in a new browser tab) marked up as an ARIA
 * tablist; Left / Right / Home / End move between tabs.
 */
export function RunTabs({ runId, current, counts }: RunTabsProps) {
  const hrefOf = (tab: RunTab) => hrefWithQuery(`/runs/${encodeURIComponent(runId)}`, runViewQuery({ tab }));
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = RUN_TABS.indexOf(current);
    const next =
      event.key === 'ArrowRight'
        ? RUN_TABS[(index + 1) % RUN_TABS.length]
        : event.key === 'ArrowLeft'
          ? RUN_TABS[(index + RUN_TABS.length - 1) % RUN_TABS.length]
          : event.key === 'Home'
            ? RUN_TABS[0]
            : event.key === 'End'
              ? RUN_TABS[RUN_TABS.length - 1]
              : undefined;
    if (next === undefined) return;
    event.preventDefault();
    navigate(hrefOf(next));
    // The tab links re-render with the new selection; focus the newly selected one.
    requestAnimationFrame(() => document.getElementById(`run-tab-${next}`)?.focus());
  };
  return (
    <div className="run-tabs" role="tablist" aria-label="Run sections" onKeyDown={onKeyDown}>
      {RUN_TABS.map((tab) => (
        <Link
          key={tab}
          id={`run-tab-${tab}`}
          role="tab"
          href={hrefOf(tab)}
          aria-selected={tab === current}
          aria-controls={tab === current ? `run-panel-${tab}` : undefined}
          tabIndex={tab === current ? 0 : -1}
          className="run-tab"
        >
          {LABELS[tab]}
          {counts[tab] !== undefined && <span className="run-count">{counts[tab]}</span>}
        </Link>
      ))}
    </div>
  );
}
