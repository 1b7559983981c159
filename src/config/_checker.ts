/** Error sink of the semantic stage. */
import type { Where } from "./_reader.ts";
import type { ConfigError } from "./types.ts";

/** Collects semantic errors for one file. */
export class Checker {
  readonly errors: ConfigError[] = [];

  constructor(private readonly file: string) {}

  /** Records a semantic error at `where`. */
  fail(where: Where, message: string): void {
    this.errors.push({
      kind: "semantic",
      file: this.file,
      line: where.loc.line,
      col: where.loc.col,
      path: where.path,
      message,
    });
  }

  /** Records an error about a key the file left out; it points at the mapping that lacks it. */
  missing(parent: Where, key: string, message: string): void {
    this.fail({ loc: parent.loc, path: `${parent.path}.${key}` }, message);
  }
}
