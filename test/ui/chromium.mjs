// How the browser tests (test/ui/browser.ts) and the UI benchmark (bench/ui.mjs) launch Chromium.
// Plain JavaScript so that `node bench/ui.mjs` can import it without a build; typed by chromium.d.mts.

/** Debian's Chromium (`apt-get install chromium`; scripts/install-system-packages.sh installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless Chromium in a container: no sandbox, GPU or background traffic. */
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

/** The options of `chromium.launch` (playwright-core) for Debian's headless Chromium. */
export function chromiumLaunchOptions() {
  return { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] };
}
