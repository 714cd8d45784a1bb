import { registerHooks } from 'node:module';

// @actions/workflow-parser imports its JSON schemas without `with { type: 'json' }`, which Node's
// ESM loader refuses; bundlers accept it. Add the attribute for that package's JSON files only.
registerHooks({
  load(url, context, nextLoad) {
    if (url.includes('/@actions/workflow-parser/') && url.endsWith('.json')) {
      return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
    }
    return nextLoad(url, context);
  },
});

/** `@actions/workflow-parser`'s workflow API, loaded so that it works under plain Node. */
export const workflowParser = await import('@actions/workflow-parser');
/** `@actions/workflow-parser`'s action.yml API (parseAction validates against the action schema). */
export const actionParser = await import('@actions/workflow-parser/actions/index');
