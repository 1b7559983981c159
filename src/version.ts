/**
 * Build identity. `tools/bundle.ts` rewrites these three constants in the
 * bundled output; from source they say "dev" so a running daemon never
 * pretends to be a release.
 */
export const VERSION = "0.1.0";
/** Git commit the build came from, or "unknown" when run from source. */
export const COMMIT = "unknown";
/** UTC build date (ISO 8601), or "unknown" when run from source. */
export const BUILD_DATE = "unknown";

/** One line naming version, commit and build date, as `--version` prints it. */
export function versionLine(program = "maglev"): string {
  return `${program} ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`;
}
