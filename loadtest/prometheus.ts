/**
 * Values of a Prometheus text exposition, summed over label sets per metric name: enough to
 * follow a service's counters and gauges (`queue_depth`, `events_processed_total`, …).
 * Histogram series keep their suffixed names (`_bucket`, `_sum`, `_count`).
 */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = parseValue(match[3]!);
    if (Number.isNaN(value)) continue;
    const name = match[1]!;
    values.set(name, (values.get(name) ?? 0) + value);
  }
  return values;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** One scrape of the service, the fields the load test and benchmark follow. */
export interface MetricsSample {
  /** Milliseconds since the run started. */
  t: number;
  queueDepth: number | null;
  inFlight: number | null;
  ingested: number | null;
  processed: number | null;
  deadLettered: number | null;
  retries: number | null;
  residentBytes: number | null;
}

export function toSample(t: number, values: Map<string, number>): MetricsSample {
  const get = (name: string) => values.get(name) ?? null;
  return {
    t,
    queueDepth: get('queue_depth'),
    inFlight: get('myeventstream_messages_in_flight'),
    ingested: get('events_ingested_total'),
    processed: get('events_processed_total'),
    deadLettered: get('dlq_messages_total'),
    retries: get('retry_attempts_total'),
    residentBytes: get('process_resident_memory_bytes'),
  };
}

/** Fetches and parses a /metrics endpoint; rejects on HTTP errors and after `timeoutMs`. */
export async function scrape(url: string, timeoutMs = 2000): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return parseMetrics(await response.text());
}
