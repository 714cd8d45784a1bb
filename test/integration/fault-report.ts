/**
 * The numbers the fault tests measure, printed as one table per file (afterAll), so a run shows for
 * each injected fault what the user saw, how many dispatches GitHub carried out and how long the
 * final state took. Timings are measured, never asserted beyond generous bounds.
 */
export type FaultRow = {
  fault: string;
  /** What the user read in the chat (the line that mattered). */
  userSaw: string;
  /** Runs GitHub created for the request (POSTs sent in brackets), or '—' where none applies. */
  dispatches: string;
  /** From the command (or the end of the run, as `measuredFrom` says) to the final state, ms. */
  finalMs: number | null;
  measuredFrom?: string;
};

export type FaultReport = { add: (row: FaultRow) => void; print: () => void };

export function faultReport(title: string): FaultReport {
  const rows: FaultRow[] = [];
  return {
    add: (row) => {
      rows.push(row);
    },
    print: () => {
      if (rows.length === 0) return;
      const lines = [
        `\n### ${title}`,
        '| fault | what the user saw | dispatches | time to the final state |',
        '| --- | --- | --- | --- |',
        ...rows.map(
          (r) =>
            `| ${r.fault} | ${r.userSaw.replace(/\n/g, ' ').replace(/\|/g, '\\|')} | ${r.dispatches} | ${
              r.finalMs === null
                ? '—'
                : `${(r.finalMs / 1000).toFixed(1)} s${r.measuredFrom ? ` (${r.measuredFrom})` : ''}`
            } |`,
        ),
      ];
      console.log(lines.join('\n'));
    },
  };
}

/** A line of a message that says what matters (the state line or a note), for the table. */
export function keyLine(text: string, pattern: RegExp): string {
  return (
    text
      .split('\n')
      .find((line) => pattern.test(line))
      ?.trim() ??
    text.split('\n')[0] ??
    ''
  );
}

/**
 * What a deployment message went through, as a person reading it saw it: the state line (and a
 * note naming GitHub or Telegram) of each text it had, durations left out, repeats dropped.
 */
export function journey(history: readonly string[]): string {
  const steps: string[] = [];
  for (const text of history) {
    const lines = text.split('\n');
    const state = lines.find((l) => /^\p{Extended_Pictographic}|^[⏳⏱⌛↩]/u.test(l.trim())) ?? '';
    const note = lines.find((l) => /from GitHub|GitHub (answered|did not|asked|’s rate limit)/.test(l)) ?? '';
    const step = [state, note]
      .filter(Boolean)
      .map((l) => l.replace(/ · \d.*$| in \d+m? ?\d*s?$/, '').trim())
      .join(': ');
    if (step && steps.at(-1) !== step) steps.push(step);
  }
  return steps.join(' → ');
}
