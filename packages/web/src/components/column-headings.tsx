/** Props of {@link ColumnHeadings}. */
export interface ColumnHeadingsProps {
  /** The column headings, left to right; each is also the cell's React key, so they must differ. */
  headings: readonly string[];
}

/** The `<thead>` of a data table whose columns are headed by plain text labels. */
export function ColumnHeadings({ headings }: ColumnHeadingsProps) {
  return (
    <thead>
      <tr>
        {headings.map((heading) => (
          <th key={heading} scope="col">
            {heading}
          </th>
        ))}
      </tr>
    </thead>
  );
}
