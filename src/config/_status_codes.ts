/** The `response-code` mini-language: `200`, `200-399`, `200,204,300-399`. */
import type { StatusRange } from "./types.ts";

const CODE = /^[0-9]{1,9}$/;
const RANGE = /^([0-9]{1,9})\s*-\s*([0-9]{1,9})$/;

/**
 * Parses a code, a range or a comma-separated list of both. Range bounds are
 * not checked here (that is the semantic stage's job), only the syntax.
 *
 * @throws {RangeError} naming the part that is malformed.
 */
export function parseStatusCodes(text: string): StatusRange[] {
  const ranges: StatusRange[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (CODE.test(part)) {
      ranges.push([Number(part), Number(part)]);
      continue;
    }
    const m = RANGE.exec(part);
    if (m === null) {
      const parts = text.includes(",");
      const shown = !parts
        ? ""
        : part === ""
        ? " (an empty part)"
        : ` (at "${part}")`;
      throw new RangeError(
        `malformed response-code "${text}"${shown}: use a code (200), a range (200-399) or a list (200,204,300-399)`,
      );
    }
    ranges.push([Number(m[1]), Number(m[2])]);
  }
  return ranges;
}
