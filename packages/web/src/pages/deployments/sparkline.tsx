/** Props of {@link Sparkline}. */
export interface SparklineProps {
  /** Oldest first; `undefined` leaves a gap. */
  values: readonly (number | undefined)[];
  /** Points the line is drawn for (older ones scroll off the left). */
  capacity: number;
  /** Accessible description, e.g. `Requests per second, last 2 minutes`. */
  label: string;
  width?: number;
  height?: number;
}

/** A small line chart of the latest values, scaled from 0 to the largest one; an SVG. */
export function Sparkline({ values, capacity, label, width = 240, height = 44 }: SparklineProps) {
  const max = Math.max(0, ...values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const step = width / Math.max(capacity - 1, 1);
  const offset = capacity - values.length;
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((value, i) => {
    if (value === undefined || !Number.isFinite(value)) {
      if (current.length > 0) segments.push(current.join(' '));
      current = [];
      return;
    }
    const x = (offset + i) * step;
    const y = max > 0 ? height - 2 - (value / max) * (height - 4) : height - 2;
    current.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  if (current.length > 0) segments.push(current.join(' '));
  return (
    <svg
      className="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <line x1="0" x2={width} y1={height - 1} y2={height - 1} className="sparkline-base" />
      {segments.map((points) =>
        points.includes(' ') ? (
          <polyline key={points} points={points} className="sparkline-line" />
        ) : (
          <circle
            key={points}
            cx={points.split(',')[0]}
            cy={points.split(',')[1]}
            r="1.5"
            className="sparkline-dot"
          />
        ),
      )}
    </svg>
  );
}
