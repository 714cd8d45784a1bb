/** Words of PromQL that look like identifiers but name no metric. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression (or a Grafana query using `$variables`) reads.
 *
 * A tokenizer, not a full parser: strings, label matchers, ranges and label lists are removed
 * first, then every identifier not followed by `(` (a function or aggregation) and not a keyword
 * is a metric name. Grafana's `label_values(metric, label)` yields `metric`.
 */
export function promqlMetricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const match of expr.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/g)) {
    if (match[1]) names.add(match[1]);
  }
  const stripped = expr
    .replace(/label_values\([^)]*\)/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, ' 1 ');
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?)|([a-zA-Z_:][a-zA-Z0-9_:]*)|\S/gi;
  for (const match of stripped.matchAll(token)) {
    const word = match[2];
    if (word === undefined || KEYWORDS.has(word.toLowerCase())) continue;
    const rest = stripped.slice((match.index ?? 0) + word.length);
    if (/^\s*\(/.test(rest)) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** A registry metric as prom-client describes it. */
export type RegisteredMetric = { name: string; type: string };

/**
 * The series names Prometheus stores for the registered metrics: a histogram `h` is scraped as
 * `h_bucket`, `h_sum` and `h_count`, a summary as `s`, `s_sum` and `s_count`.
 */
export function exportedSeriesNames(metrics: readonly RegisteredMetric[]): Set<string> {
  const names = new Set<string>();
  for (const { name, type } of metrics) {
    if (type === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    } else if (type === 'summary') {
      for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
    } else {
      names.add(name);
    }
  }
  return names;
}
