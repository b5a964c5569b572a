/**
 * Counters, gauges and histograms for the serving hot path, registered in a prom-client `Registry`
 * and rendered by it like its own metrics.
 *
 * prom-client checks and hashes the label set on every `inc`/`set`/`observe`, its label-bound
 * children included: a few microseconds a call, paid several times by every request a model server
 * answers. Here a series is looked up once ({@link SeriesMetric.series}) and the handle it returns
 * updates plain numbers, so an observation costs an addition.
 */
import type { Registry } from 'prom-client';

/** Label values of one series, in the order they are rendered. */
export type SeriesLabels = Readonly<Record<string, string>>;

/** One rendered sample, in the shape prom-client's `Registry` formats. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: SeriesLabels;
  metricName?: string;
}

interface MetricOptions {
  name: string;
  help: string;
  registers: readonly Registry[];
}

/**
 * A metric made of labelled series. The key of a series is its label values joined; callers on a
 * hot path keep the handle {@link series} returns instead of asking again.
 */
abstract class SeriesMetric<Handle> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: SeriesLabels; handle: Handle }>();

  constructor(options: MetricOptions) {
    this.name = options.name;
    this.help = options.help;
    // Registry.registerMetric takes any object with name, help, type and get().
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of `labels`, made (at zero) on first use. */
  series(labels: SeriesLabels = {}): Handle {
    const key = Object.values(labels).join('\u0000');
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, handle: this.create() };
      this.#series.set(key, entry);
    }
    return entry.handle;
  }

  /** prom-client's `Registry` reads a metric through this. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, handle } of this.#series.values()) values.push(...this.samples(labels, handle));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every series. */
  reset(): void {
    this.#series.clear();
  }

  protected abstract create(): Handle;
  protected abstract samples(labels: SeriesLabels, handle: Handle): Sample[];
}

/** A counter series: only goes up. */
export interface CounterSeries {
  inc(by?: number): void;
}

/** A counter of labelled series. */
export class SeriesCounter extends SeriesMetric<CounterSeries & { value: number }> {
  readonly type = 'counter';

  protected create(): CounterSeries & { value: number } {
    return {
      value: 0,
      inc(by = 1) {
        this.value += by;
      },
    };
  }

  protected samples(labels: SeriesLabels, handle: { value: number }): Sample[] {
    return [{ value: handle.value, labels: { ...labels } }];
  }
}

/** A gauge series: set to the current value. */
export interface GaugeSeries {
  set(value: number): void;
}

/** A gauge of labelled series. */
export class SeriesGauge extends SeriesMetric<GaugeSeries & { value: number }> {
  readonly type = 'gauge';

  protected create(): GaugeSeries & { value: number } {
    return {
      value: 0,
      set(value) {
        this.value = value;
      },
    };
  }

  protected samples(labels: SeriesLabels, handle: { value: number }): Sample[] {
    return [{ value: handle.value, labels: { ...labels } }];
  }
}

/** A histogram series: counts observations per bucket. */
export interface HistogramSeries {
  observe(value: number): void;
}

interface HistogramState extends HistogramSeries {
  /** Observations per bucket (not cumulative), one per upper bound; +Inf is `count`. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** A histogram of labelled series, rendered with cumulative `_bucket`, `_sum` and `_count` samples. */
export class SeriesHistogram extends SeriesMetric<HistogramState> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(options: MetricOptions & { buckets: readonly number[] }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramState {
    const bounds = this.#bounds;
    return {
      buckets: bounds.map(() => 0),
      sum: 0,
      count: 0,
      observe(value) {
        this.sum += value;
        this.count += 1;
        // Few buckets: a linear scan beats a binary search.
        for (let i = 0; i < bounds.length; i++) {
          if (value <= (bounds[i] as number)) {
            (this.buckets[i] as number)++;
            return;
          }
        }
      },
    };
  }

  protected samples(labels: SeriesLabels, state: HistogramState): Sample[] {
    const bucket = `${this.name}_bucket`;
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += state.buckets[i] as number;
      out.push({
        value: cumulative,
        labels: { le: this.#bounds[i] as number },
        sharedLabels: labels,
        metricName: bucket,
      });
    }
    out.push(
      { value: state.count, labels: { le: '+Inf' }, sharedLabels: labels, metricName: bucket },
      { value: state.sum, labels: {}, sharedLabels: labels, metricName: `${this.name}_sum` },
      { value: state.count, labels: {}, sharedLabels: labels, metricName: `${this.name}_count` },
    );
    return out;
  }
}
