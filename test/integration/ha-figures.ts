import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the cluster tests write their figures (JSON Lines): HA_FIGURES_FILE, else the temp dir. */
export const FIGURES_FILE = process.env.HA_FIGURES_FILE ?? join(tmpdir(), 'deploybot-ha-figures.jsonl');

/** Records one figure of the cluster tests for the report (issue #14): printed and appended to a file. */
export function recordFigure(name: string, value: number): void {
  const line = JSON.stringify({ name, value, at: new Date().toISOString() });
  console.log(`ha figure ${line}`);
  appendFileSync(FIGURES_FILE, `${line}\n`);
}
