/**
 * Build identity. `tools/bundle.ts` stamps COMMIT and BUILD_DATE into the
 * bundled output; from source they say "unknown", so a daemon run from a
 * checkout never pretends to be a release.
 */
export const VERSION = "0.2.0";
/** Git commit the build came from, or "unknown" when run from source. */
export const COMMIT = "unknown";
/** UTC build date (ISO 8601), or "unknown" when run from source. */
export const BUILD_DATE = "unknown";

/**
 * Where the project lives. Probes carry it in their User-Agent so the
 * operator of a backend who sees the requests can find out what sends them;
 * debian/control's Homepage says the same (a test keeps them equal).
 */
export const PROJECT_URL = "https://maglev.b-seed-1fbdc3e2.example/";

/** One line naming version, commit and build date, as `--version` prints it. */
export function versionLine(program = "maglev"): string {
  return `${program} ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`;
}
