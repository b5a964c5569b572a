/**
 * Reading Prometheus' text exposition format (what `GET /metrics` answers) in the browser: a parser
 * into samples, sums of counters over the series that match some labels, histogram buckets, and
 * quantiles estimated from bucket deltas the way PromQL's `histogram_quantile` does. Pure functions,
 * unit-tested in `prometheus.test.ts`.
 */

/** One sample line: `name{labels} value`. */
export interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** One bucket of a cumulative histogram: observations ≤ `le` (`Infinity` for `+Inf`). */
export interface HistogramBucket {
  le: number;
  count: number;
}

/**
 * Parses the text format into samples; `# HELP`/`# TYPE` lines, comments, blank lines and lines it
 * cannot read are skipped. Label values are unescaped (`\\`, `\"`, `\n`); values may be `NaN`,
 * `+Inf` or `-Inf`; a trailing timestamp is ignored.
 *
 * @example
 * parsePrometheusText('up{job="keel"} 1\n');
 * // [{ name: 'up', labels: { job: 'keel' }, value: 1 }]
 */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    const sample = parseSampleLine(line.trim());
    if (sample !== undefined) samples.push(sample);
  }
  return samples;
}

/** One line, or `undefined` for a comment, a blank or a malformed line. */
function parseSampleLine(line: string): PromSample | undefined {
  if (line === '' || line.startsWith('#')) return undefined;
  const nameMatch = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
  if (nameMatch === null) return undefined;
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest);
    if (parsed === undefined) return undefined;
    labels = parsed.labels;
    rest = rest.slice(parsed.length);
  }
  const valueText = rest.trim().split(/\s+/)[0];
  if (valueText === undefined || valueText === '') return undefined;
  const value = parseValue(valueText);
  return value === undefined ? undefined : { name, labels, value };
}

/** Reads `{a="x",b="y"}` at the start of `text`; `length` is how many characters it took. */
function parseLabels(text: string): { labels: Record<string, string>; length: number } | undefined {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, length: i + 1 };
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (key === undefined) return undefined;
    i += key.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') return undefined;
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') return undefined;
    i++;
    let value = '';
    for (; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\' && i + 1 < text.length) {
        i++;
        value += text[i] === 'n' ? '\n' : text[i];
      } else {
        value += text[i];
      }
    }
    if (text[i] !== '"') return undefined;
    i++;
    labels[key] = value;
  }
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** True when every label of `match` has that value in `labels`. */
export function labelsMatch(
  labels: Readonly<Record<string, string>>,
  match: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(match).every(([key, value]) => labels[key] === value);
}

/**
 * Sum of the samples named `name` whose labels include `match` (a counter over every series of a
 * deployment, say).
 *
 * @example
 * sumSamples(samples, 'keel_serving_requests_total', { deployment: 'iris' }); // 205
 */
export function sumSamples(
  samples: readonly PromSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name === name && labelsMatch(sample.labels, match)) total += sample.value;
  }
  return total;
}

/**
 * The cumulative buckets of histogram `name` (its `<name>_bucket` samples), summed over every series
 * whose labels include `match`, sorted by `le`.
 */
export function histogramBuckets(
  samples: readonly PromSample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
): HistogramBucket[] {
  const byBound = new Map<number, number>();
  const bucketName = `${name}_bucket`;
  for (const sample of samples) {
    if (sample.name !== bucketName || !labelsMatch(sample.labels, match)) continue;
    const le = sample.labels.le;
    const bound = le === undefined ? undefined : parseValue(le);
    if (bound === undefined || Number.isNaN(bound)) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
  }
  return [...byBound.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * `current − previous`, bucket by bucket (the observations between two scrapes). A bucket missing
 * from `previous` counts as 0; a negative difference (the server restarted) counts as `current`.
 */
export function subtractBuckets(
  current: readonly HistogramBucket[],
  previous: readonly HistogramBucket[],
): HistogramBucket[] {
  const before = new Map(previous.map((bucket) => [bucket.le, bucket.count]));
  const reset = current.some((bucket) => bucket.count < (before.get(bucket.le) ?? 0));
  return current.map((bucket) => ({
    le: bucket.le,
    count: reset ? bucket.count : bucket.count - (before.get(bucket.le) ?? 0),
  }));
}

/**
 * The `q`-quantile (0 to 1) of cumulative buckets, as PromQL's `histogram_quantile` estimates it:
 * the bucket holding the rank, linear interpolation inside it (from 0 for the first bucket); a rank
 * in the `+Inf` bucket answers the highest finite bound. `undefined` with no observations.
 *
 * @example
 * histogramQuantile(0.5, [{ le: 0.1, count: 10 }, { le: 0.2, count: 20 }, { le: Infinity, count: 20 }]);
 * // 0.1
 */
export function histogramQuantile(q: number, buckets: readonly HistogramBucket[]): number | undefined {
  if (buckets.length === 0) return undefined;
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (!(total > 0)) return undefined;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
