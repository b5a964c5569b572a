/** Debian's Chromium (`apt-get install chromium`; scripts/install-system-packages.sh installs it). */
export declare const CHROMIUM_PATH: string;
/** Flags for a headless Chromium in a container: no sandbox, GPU or background traffic. */
export declare const CHROMIUM_ARGS: readonly string[];
/** The options of `chromium.launch` (playwright-core) for Debian's headless Chromium. */
export declare function chromiumLaunchOptions(): { executablePath: string; args: string[] };
