import type { core } from 'zod';

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}

/** A zod issue as problem lines `<key path>: <what is wrong>` (one per unknown key). */
export function issueLines(issue: core.$ZodIssue, at: readonly PropertyKey[] = []): string[] {
  const path = [...at, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${pathText([...path, key])}: unknown key`);
  }
  if (issue.code === 'invalid_key') {
    const key = JSON.stringify(path.at(-1));
    return issue.issues.map((inner) => `${pathText(path.slice(0, -1))}: ${key} ${inner.message}`);
  }
  return [`${pathText(path) || '(top level)'}: ${issue.message}`];
}
