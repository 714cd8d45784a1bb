import { hasNameEscape } from './repository-mention.ts';

/**
 * A look at a verified `workflow_run` body's raw bytes, before any parse: false only when its run
 * cannot be of any of `workflows` as `isRunOfWorkflow` decides (the run's `path`, less any `@ref`,
 * ends with `/<file>`). Such a run is of another workflow (the repository's CI, say) and the bot has
 * no use for it: it is answered without a `JSON.parse`.
 *
 * Why false is proof: a file name of plain ASCII (no quote, backslash or control character) is
 * written in a JSON string with its own bytes unless a `\u` or `\/` escape writes one of them, and a
 * body with either escape answers true. So a `path` ending in `/<file>` puts those bytes in the body.
 * A workflow given by its numeric id, or a name outside plain ASCII, always answers true.
 */
export function mayNameWorkflow(workflows: readonly string[]): (body: Buffer) => boolean {
  const plain = (file: string) => /^[\x20-\x7e]+$/.test(file) && !/["\\]/.test(file) && !/^\d+$/.test(file);
  if (workflows.length === 0 || !workflows.every(plain)) return () => true;
  const needles = [...new Set(workflows)].map((file) => Buffer.from(`/${file}`, 'latin1'));
  return (body) => hasNameEscape(body) || needles.some((needle) => body.indexOf(needle) >= 0);
}
