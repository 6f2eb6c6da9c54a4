// Constant tables, frozen with their rows and the arrays in them: on Moddable the modules are preloaded, and what is
// frozen stays in flash with the code, while anything left unfrozen is copied into RAM when written (xsl warns about
// every such object). Used by every layer's tables; mqtt/ is the one all layers may import.

/** Freezes `rows`, every row and every array a row holds; returns `rows`. */
export function frozen<Row extends object>(rows: Row[]): readonly Readonly<Row>[] {
  for (const row of rows) {
    for (const value of Object.values(row)) if (Array.isArray(value)) Object.freeze(value);
    Object.freeze(row);
  }
  return Object.freeze(rows);
}
