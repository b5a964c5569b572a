/**
 * Light and dark themes. Until the user picks one with the toggle, the UI follows the system's
 * `prefers-color-scheme`; a pick is kept in localStorage (`keel.theme`) and applied as
 * `<html data-theme="…">`, which `styles/theme.css` reads (index.html applies it before first paint).
 */
import { useCallback, useSyncExternalStore } from 'react';

/** A concrete theme. */
export type Theme = 'light' | 'dark';

/** localStorage key of the user's pick. */
export const THEME_STORAGE_KEY = 'keel.theme';

const DARK_QUERY = '(prefers-color-scheme: dark)';
const listeners = new Set<() => void>();

function storedTheme(): Theme | undefined {
  try {
    const value = window.localStorage.getItem(THEME_STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    return undefined; // Storage disabled (private mode, policy): follow the system.
  }
}

function currentTheme(): Theme {
  return storedTheme() ?? (window.matchMedia(DARK_QUERY).matches ? 'dark' : 'light');
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const media = window.matchMedia(DARK_QUERY);
  media.addEventListener('change', listener);
  window.addEventListener('storage', listener);
  return () => {
    listeners.delete(listener);
    media.removeEventListener('change', listener);
    window.removeEventListener('storage', listener);
  };
}

/** Stores `theme` as the user's pick and applies it to the document. */
export function setTheme(theme: Theme): void {
  try {
    window.localStorage.setItem(THEME_STORAGE_KEY, theme);
  } catch {
    // Not persisted; still applied for this page.
  }
  document.documentElement.dataset.theme = theme;
  for (const listener of listeners) listener();
}

/**
 * The theme in force and a function that flips it.
 *
 * @example
 * const { theme, toggle } = useTheme();
 */
export function useTheme(): { theme: Theme; toggle: () => void } {
  const theme = useSyncExternalStore(subscribe, currentTheme);
  const toggle = useCallback(() => setTheme(currentTheme() === 'dark' ? 'light' : 'dark'), []);
  return { theme, toggle };
}
