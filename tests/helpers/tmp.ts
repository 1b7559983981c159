/**
 * Temporary directories that remove themselves: `await using dir = await
 * tempDir("maglev-x-")` deletes the tree when the scope ends, also when the
 * test fails, so the suite leaves nothing behind in $TMPDIR.
 */

/** A temporary directory removed (recursively) on dispose. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Creates a temporary directory under $TMPDIR with the given name prefix. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
