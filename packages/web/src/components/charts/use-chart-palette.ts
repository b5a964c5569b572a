import { type RefObject, useLayoutEffect, useState } from 'react';
import { useTheme } from '../../theme/theme';
import { type ChartPalette, resolveChartPalette } from './series-colors';

/**
 * The concrete chart colours for the theme in force, read from the CSS variables under `host`;
 * re-read when the theme changes (the toggle, or the system setting while the user has not picked).
 * `undefined` until the host element is mounted.
 */
export function useChartPalette(host: RefObject<HTMLElement | null>): ChartPalette | undefined {
  const { theme } = useTheme();
  const [palette, setPalette] = useState<ChartPalette>();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the same variables resolve to other colours once the theme changes
  useLayoutEffect(() => {
    if (host.current !== null) setPalette(resolveChartPalette(host.current));
  }, [host, theme]);
  return palette;
}
