import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { getMetricsText } from '../../api/deployments';
import { parsePrometheusText } from '../../lib/prometheus';
import { scrapeOf, type TrafficPoint, type TrafficScrape, trafficBetween } from './live-traffic';

/** How often `/metrics` is read. */
export const TRAFFIC_POLL_MS = 2000;
/** Points kept for the sparklines: two minutes at one every 2 s. */
const HISTORY = 60;

/** What {@link useLiveTraffic} returns. */
export interface LiveTraffic {
  /** Oldest first; one per poll after the first. */
  points: TrafficPoint[];
  latest: TrafficPoint | undefined;
  /** The newest scrape (totals since the server started). */
  scrape: TrafficScrape | undefined;
  error: unknown;
}

/**
 * Polls `/metrics` every {@link TRAFFIC_POLL_MS} and turns consecutive scrapes of `deployment` into
 * rates and latency quantiles (see `live-traffic.ts`).
 */
export function useLiveTraffic(deployment: string): LiveTraffic {
  const metrics = useQuery({
    queryKey: ['metrics'],
    queryFn: async ({ signal }) => ({ text: await getMetricsText(signal), at: Date.now() }),
    refetchInterval: TRAFFIC_POLL_MS,
    refetchIntervalInBackground: false,
    staleTime: 0,
    gcTime: 0,
  });
  const previous = useRef<TrafficScrape | undefined>(undefined);
  const [state, setState] = useState<{ points: TrafficPoint[]; scrape: TrafficScrape | undefined }>({
    points: [],
    scrape: undefined,
  });
  useEffect(() => {
    if (metrics.data === undefined) return;
    const scrape = scrapeOf(parsePrometheusText(metrics.data.text), deployment, metrics.data.at);
    const before = previous.current;
    previous.current = scrape;
    setState((current) => ({
      scrape,
      points:
        before === undefined || before.at === scrape.at
          ? current.points
          : [...current.points, trafficBetween(before, scrape)].slice(-HISTORY),
    }));
  }, [metrics.data, deployment]);
  return {
    points: state.points,
    latest: state.points[state.points.length - 1],
    scrape: state.scrape,
    error: metrics.error,
  };
}
