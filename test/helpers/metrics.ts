// Reading a gateway's metrics as Prometheus text (a gateway process or container's /metrics);
// in-process tests read the registry with metricValue (gateway.ts).

/** A metric's value summed over the series whose labels include `labels`, from Prometheus text. */
export function metricFromText(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The Prometheus text at `url` (a /metrics endpoint), failing after 5 s rather than hanging. */
export async function metricsText(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
}

/** metricFromText on the metrics scraped from `url`. */
export async function scrapeMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricFromText(await metricsText(url), name, labels);
}
