/**
 * Colours of the charts' series. They are CSS variables (`--series-1` … `--series-10` in
 * styles/charts.css, each with a light and a dark value), so SVG and HTML use them directly; the
 * uPlot canvas needs concrete colour strings, which {@link resolveChartPalette} reads from the page.
 */

/** How many distinct series colours there are; the 11th run reuses the first colour. */
export const SERIES_COLOR_COUNT = 10;

/**
 * The CSS variable of the `index`-th series (0-based), for SVG `stroke`/`fill` and HTML swatches.
 *
 * @example
 * seriesColor(0); // 'var(--series-1)'
 */
export function seriesColor(index: number): string {
  const slot = ((index % SERIES_COLOR_COUNT) + SERIES_COLOR_COUNT) % SERIES_COLOR_COUNT;
  return `var(--series-${slot + 1})`;
}

/** Concrete colours for a canvas, resolved in the theme in force. */
export interface ChartPalette {
  /** One per series slot, `rgb(…)`. */
  series: string[];
  /** Tick labels. */
  text: string;
  /** Grid lines and ticks. */
  grid: string;
}

/**
 * Reads the series and axis colours as `rgb(…)` strings, resolving `light-dark()` for the theme
 * `host` is shown in. Call it again after a theme change.
 */
export function resolveChartPalette(host: HTMLElement): ChartPalette {
  const probe = document.createElement('span');
  probe.style.display = 'none';
  host.appendChild(probe);
  const read = (value: string): string => {
    probe.style.color = value;
    return getComputedStyle(probe).color;
  };
  const palette: ChartPalette = {
    series: Array.from({ length: SERIES_COLOR_COUNT }, (_, index) => read(seriesColor(index))),
    text: read('var(--text-muted)'),
    grid: read('var(--border)'),
  };
  probe.remove();
  return palette;
}

/**
 * `color` (as `rgb(r, g, b)`) with an alpha, for the raw line drawn faintly under a smoothed one.
 *
 * @example
 * withAlpha('rgb(34, 87, 214)', 0.25); // 'rgba(34, 87, 214, 0.25)'
 */
export function withAlpha(color: string, alpha: number): string {
  const match = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(color);
  if (match === null) return color;
  return `rgba(${match[1]?.trim()}, ${match[2]?.trim()}, ${match[3]?.trim()}, ${alpha})`;
}
