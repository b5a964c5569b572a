import { describe, expect, it } from 'vitest';
import { DEFAULT_CHART_VIEW, parseChartView, withChartView } from './chart-view-state';

describe('chart view state', () => {
  it('reads the controls from the query, falling back to the defaults', () => {
    expect(parseChartView(new URLSearchParams('x=relative&log=1&smooth=0.6'))).toEqual({
      xAxis: 'relative',
      logY: true,
      smoothing: 0.6,
    });
    expect(parseChartView(new URLSearchParams(''))).toEqual(DEFAULT_CHART_VIEW);
    expect(parseChartView(new URLSearchParams('x=epoch&log=yes&smooth=abc'))).toEqual(DEFAULT_CHART_VIEW);
    expect(parseChartView(new URLSearchParams('smooth=1.5')).smoothing).toBe(0.99);
    expect(parseChartView(new URLSearchParams('smooth=-1')).smoothing).toBe(0);
  });

  it("writes only non-default controls and keeps the page's other keys", () => {
    const query = new URLSearchParams('tab=metrics&metric=loss&x=wall&smooth=0.3');
    expect(withChartView(query, { xAxis: 'step', logY: true, smoothing: 0.456 }).toString()).toBe(
      'tab=metrics&metric=loss&log=1&smooth=0.46',
    );
    expect(withChartView(query, DEFAULT_CHART_VIEW).toString()).toBe('tab=metrics&metric=loss');
    expect(query.get('x')).toBe('wall');
  });

  it('round-trips every state', () => {
    const view = { xAxis: 'wall' as const, logY: true, smoothing: 0.85 };
    expect(parseChartView(withChartView(new URLSearchParams(), view))).toEqual(view);
  });
});
