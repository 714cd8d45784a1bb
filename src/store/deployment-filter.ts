import { checkInt, storableText } from './rows.ts';
import type { DeploymentFilter } from './store.ts';
import type { BindValue } from './store-params.ts';

/**
 * The WHERE clause of `listDeployments`, shared by both drivers: `bind` adds a value to the
 * statement's parameters and returns its placeholder (`?` or `$n`). Null when the filter can match
 * nothing (an empty list of states), so the driver need not ask the database.
 * @throws {RangeError} for a cursor or time that is not a safe integer (a caller bug).
 */
export function deploymentWhere(filter: DeploymentFilter, bind: (value: BindValue) => string): string | null {
  const where: string[] = [];
  if (filter.states !== undefined) {
    if (filter.states.length === 0) return null;
    where.push(`state IN (${filter.states.map((s) => bind(s)).join(', ')})`);
  }
  if (filter.environment !== undefined) where.push(`environment = ${bind(storableText(filter.environment))}`);
  if (filter.service !== undefined) where.push(`service = ${bind(storableText(filter.service))}`);
  if (filter.unfinished === true) where.push('finished_at IS NULL');
  if (filter.finishedSince !== undefined)
    where.push(
      `(finished_at IS NULL OR finished_at >= ${bind(checkInt('finishedSince', filter.finishedSince))})`,
    );
  if (filter.after !== undefined) {
    // Keyset paging in the list's own order (created_at DESC, id DESC): strictly after the cursor.
    const at = checkInt('after.createdAt', filter.after.createdAt);
    const id = storableText(filter.after.id);
    where.push(`(created_at < ${bind(at)} OR (created_at = ${bind(at)} AND id < ${bind(id)}))`);
  }
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}
