import { type RefObject, useLayoutEffect, useState } from 'react';

/**
 * The content width of `ref`'s element in CSS pixels, following resizes, so SVG plots are drawn at
 * their real size (text stays 12px instead of scaling with a viewBox). `fallback` until measured.
 */
export function useElementWidth(ref: RefObject<HTMLElement | null>, fallback = 800): number {
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element === null) return;
    setWidth(element.clientWidth || fallback);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth || fallback));
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref, fallback]);
  return width;
}
