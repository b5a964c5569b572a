import { type RefObject, useEffect, useLayoutEffect, useState } from 'react';

/**
 * Whether `ref`'s element is on screen or within `margin` pixels of it; stays `true` once it has
 * been, so a chart far down a long grid fetches and draws only when the user scrolls near it, and
 * keeps its drawing afterwards. An element already in view counts from its first layout (before
 * the first paint), so the charts on screen start fetching without waiting for an observer.
 *
 * @example
 * const visible = useSeenInView(cardRef); // query: { enabled: visible }
 */
export function useSeenInView(ref: RefObject<Element | null>, margin = 300): boolean {
  const [seen, setSeen] = useState(false);
  useLayoutEffect(() => {
    const element = ref.current;
    if (seen || element === null) return;
    if (typeof IntersectionObserver === 'undefined' || isNear(element.getBoundingClientRect(), margin)) {
      setSeen(true);
    }
  }, [ref, seen, margin]);
  useEffect(() => {
    const element = ref.current;
    if (seen || element === null) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setSeen(true);
      },
      { rootMargin: `${margin}px` },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref, seen, margin]);
  return seen;
}

function isNear(rect: DOMRect, margin: number): boolean {
  return (
    rect.bottom >= -margin &&
    rect.top <= window.innerHeight + margin &&
    rect.right >= -margin &&
    rect.left <= window.innerWidth + margin
  );
}
