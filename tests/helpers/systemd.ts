/**
 * How systemd reads what the packages ship, for tests that play systemd
 * without running it: EnvironmentFile= files, unit sections and ExecStart=
 * lines. Only the simple forms the packages use; anything else throws, so a
 * unit or default file that grows beyond them fails a test instead of being
 * read differently from systemd.
 */

/**
 * Reads an EnvironmentFile= as systemd does for simple files: NAME=value
 * lines, `#` and `;` comments, one pair of surrounding quotes removed.
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`not NAME=value: ${line}`);
    let value = line.slice(eq + 1).trim();
    if (/^"[^"]*"$/.test(value) || /^'[^']*'$/.test(value)) {
      value = value.slice(1, -1);
    }
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

/**
 * Expands an ExecStart= command line as systemd does: `${NAME}` is one word,
 * `$NAME` splits at whitespace and vanishes when unset or empty.
 */
export function expandExec(
  line: string,
  env: Readonly<Record<string, string>>,
): string[] {
  const words: string[] = [];
  for (const word of line.trim().split(/\s+/)) {
    const braced = /^\$\{(\w+)\}$/.exec(word);
    const bare = /^\$(\w+)$/.exec(word);
    if (braced) words.push(env[braced[1]] ?? "");
    else if (bare) {
      words.push(...(env[bare[1]] ?? "").split(/\s+/).filter(Boolean));
    } else if (word.includes("$")) {
      throw new Error(`cannot expand "${word}" of: ${line}`);
    } else words.push(word);
  }
  return words;
}

/**
 * Key → values of one section of a unit file's text (repeated keys
 * accumulate, in order).
 */
export function unitSection(
  text: string,
  section: string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      current = s[1];
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`not Key=value: ${line}`);
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}
