/**
 * Tiny cookie helpers: the dashboard keeps UI choices (chosen scope, open
 * cards) in cookies so they survive reloads and are shared by /view/ and
 * /admin/ (path=/).
 */

/** Reads one cookie, or undefined when it is not set. */
export function getCookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Sets a cookie for a year, site-wide, never sent cross-site. */
export function setCookie(name: string, value: string): void {
  document.cookie = `${name}=${
    encodeURIComponent(value)
  }; path=/; max-age=31536000; SameSite=Strict`;
}
