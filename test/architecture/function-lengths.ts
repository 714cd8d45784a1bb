import { globSync, readFileSync } from 'node:fs';
import { parseSync } from '@swc/core';

export type FunctionLength = { lines: number; where: string };

const FUNCTION_TYPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassMethod',
  'PrivateMethod',
]);

/**
 * Every function, arrow function and method in the files `pattern` matches (tests left out), with
 * its length in lines, longest first. Nested functions count on their own and inside their parent.
 */
export function functionLengths(pattern: string, cwd: string): FunctionLength[] {
  const found: FunctionLength[] = [];
  for (const file of globSync(pattern, { cwd }).filter((f) => !f.endsWith('.test.ts'))) {
    const text = readFileSync(`${cwd}/${file}`, 'utf8');
    const ast = parseSync(text, { syntax: 'typescript' });
    const lineOf = (pos: number) => text.slice(0, pos - ast.span.start).split('\n').length;
    const walk = (node: unknown, name: string | undefined): void => {
      if (Array.isArray(node)) {
        for (const item of node) walk(item, name);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown> & { type?: string; span?: { start: number; end: number } };
      const named = nameOf(n) ?? name;
      if (n.type && FUNCTION_TYPES.has(n.type) && n.span) {
        const start = lineOf(n.span.start);
        found.push({
          lines: lineOf(n.span.end) - start + 1,
          where: `${file}:${start} ${named ?? '(anonymous)'}`,
        });
      }
      for (const [key, value] of Object.entries(n)) if (key !== 'span') walk(value, named);
    };
    walk(ast.body, undefined);
  }
  return found.sort((a, b) => b.lines - a.lines);
}

function nameOf(node: Record<string, unknown>): string | undefined {
  const id = (node.identifier ?? node.id ?? node.key) as { value?: unknown } | undefined;
  return typeof id?.value === 'string' ? id.value : undefined;
}
