import { useCallback } from 'react';
import { navigate, useLocation } from '../../router/history';
import { type ChartViewState, parseChartView, withChartView } from './chart-view-state';

/**
 * The chart controls of the current page, read from and written to the URL (`x`, `log`, `smooth`;
 * see chart-view-state.ts). Writing keeps the page's other query keys and replaces the history
 * entry, so dragging the smoothing slider does not fill the back button.
 *
 * @example
 * const [view, setView] = useChartView();
 * setView({ ...view, logY: true });
 */
export function useChartView(): [ChartViewState, (next: ChartViewState) => void] {
  const { pathname, query } = useLocation();
  const setView = useCallback(
    (next: ChartViewState) => {
      const search = withChartView(new URLSearchParams(window.location.search), next).toString();
      navigate(search === '' ? pathname : `${pathname}?${search}`, { replace: true });
    },
    [pathname],
  );
  return [parseChartView(query), setView];
}
