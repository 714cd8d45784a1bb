import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Request/response validation against GitHub's published OpenAPI description (`@octokit/openapi`,
 * api.github.com). The `$ref`'d file is used rather than the deref'd one: 13 MB instead of 70 MB
 * to parse, and Ajv resolves the references lazily, per operation.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

/** An operation of the description that a request matched. */
export interface MatchedOperation {
  operationId: string;
  method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}`. */
  template: string;
  pathParams: Record<string, string>;
}

interface Operation {
  operationId: string;
  template: string;
  segments: string[];
  parameters: Parameter[];
  requestBody?: JsonObject;
  responses: JsonObject;
}

interface Loaded {
  doc: JsonObject;
  byMethod: Map<string, Operation[]>;
  bodyAjv: Ajv;
  paramAjv: Ajv;
  cache: Map<string, ValidateFunction>;
}

const SPEC_ID = 'https://api.github.com/openapi.json';
let loaded: Loaded | undefined;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenAPI 3.0's `nullable` is not JSON Schema: rewrite it (Ajv refuses `nullable` without `type`)
 * and point local `$ref`s at the registered description so a schema compiles on its own.
 */
function toJsonSchema(node: Json, rewriteRefs: boolean): Json {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, rewriteRefs));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key === 'discriminator') continue;
    if (key === '$ref' && typeof value === 'string' && rewriteRefs && value.startsWith('#/')) {
      out[key] = `${SPEC_ID}${value}`;
    } else {
      out[key] = toJsonSchema(value, rewriteRefs);
    }
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

function makeAjv(coerceTypes: boolean, components: Json): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateSchema: false, coerceTypes });
  // ajv-formats is CommonJS: under Node's ESM interop its plugin is the `.default` of module.exports.
  addFormatsModule.default(ajv);
  ajv.addSchema({ $id: SPEC_ID, components }, undefined, undefined, false);
  return ajv;
}

function resolveRef(doc: JsonObject, node: Json | undefined): Json | undefined {
  if (!isObject(node) || typeof node.$ref !== 'string') return node;
  let current: Json | undefined = doc;
  for (const part of node.$ref.replace(/^#\//, '').split('/')) {
    current = isObject(current) ? current[part] : undefined;
  }
  return resolveRef(doc, current);
}

function load(): Loaded {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
  const components = toJsonSchema(doc.components ?? {}, false);
  const byMethod = new Map<string, Operation[]>();
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const [method, op] of Object.entries(item)) {
      if (!isObject(op) || typeof op.operationId !== 'string') continue;
      const params = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]
        .map((p) => resolveRef(doc, p))
        .filter(isObject) as unknown as Parameter[];
      const list = byMethod.get(method.toUpperCase()) ?? [];
      list.push({
        operationId: op.operationId,
        template,
        segments: template.split('/').slice(1),
        parameters: params,
        requestBody: isObject(op.requestBody) ? (resolveRef(doc, op.requestBody) as JsonObject) : undefined,
        responses: isObject(op.responses) ? op.responses : {},
      });
      byMethod.set(method.toUpperCase(), list);
    }
  }
  loaded = {
    doc,
    byMethod,
    bodyAjv: makeAjv(false, components),
    paramAjv: makeAjv(true, components),
    cache: new Map(),
  };
  return loaded;
}

/**
 * Finds the operation a request addresses. Literal segments win over `{param}` ones, as on GitHub
 * (`/repos/{owner}/{repo}/actions/runs` is not `/repos/{owner}/{repo}/actions/runs/{run_id}`).
 * @returns null when GitHub has no such path for that method.
 */
export function matchOperation(method: string, pathname: string): MatchedOperation | null {
  const { byMethod } = load();
  const parts = pathname.split('/').slice(1);
  let best: { op: Operation; literals: number; params: Record<string, string> } | undefined;
  for (const op of byMethod.get(method.toUpperCase()) ?? []) {
    if (op.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let ok = true;
    for (const [i, segment] of op.segments.entries()) {
      const part = decodeURIComponent(parts[i] ?? '');
      const name = /^\{([^}]+)\}$/.exec(segment)?.[1];
      if (name) {
        if (part === '') ok = false;
        params[name] = part;
      } else if (segment === part) {
        literals++;
      } else {
        ok = false;
      }
      if (!ok) break;
    }
    if (ok && (!best || literals > best.literals)) best = { op, literals, params };
  }
  if (!best) return null;
  return { operationId: best.op.operationId, method, template: best.op.template, pathParams: best.params };
}

/**
 * An operation by its route (`'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches'`,
 * the template exactly as the description spells it) or by its operationId.
 * @returns null when the description has no such operation.
 */
export function findOperation(
  route: string,
): { operationId: string; method: string; template: string } | null {
  const { byMethod } = load();
  const [method, template] = route.includes(' ') ? route.split(' ', 2) : [undefined, undefined];
  for (const [m, ops] of byMethod) {
    for (const op of ops) {
      const same = method ? m === method.toUpperCase() && op.template === template : op.operationId === route;
      if (same) return { operationId: op.operationId, method: m, template: op.template };
    }
  }
  return null;
}

function operationOf(match: MatchedOperation): Operation {
  const op = load()
    .byMethod.get(match.method.toUpperCase())
    ?.find((o) => o.operationId === match.operationId);
  if (!op) throw new Error(`unknown operation ${match.operationId}`);
  return op;
}

function compiled(key: string, ajv: Ajv, schema: () => Json): ValidateFunction {
  const { cache } = load();
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schema(), true) as JsonObject);
    cache.set(key, validate);
  }
  return validate;
}

function describe(validate: ValidateFunction, where: string): string[] {
  return (validate.errors ?? []).map((e) =>
    `${where}${e.instancePath || ''} ${e.message ?? 'is invalid'}`.trim(),
  );
}

function paramsSchema(params: Parameter[]): Json {
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const p of params) {
    let schema: JsonObject = p.schema ?? {};
    // GitHub documents `created` as a date-time but accepts (and Octokit users send) the search
    // syntax: `>=2024-01-01`, `2024-01-01..2024-02-01`.
    if (p.name === 'created') schema = { type: 'string' };
    properties[p.name] = schema;
    if (p.required) required.push(p.name);
  }
  return { type: 'object', properties, required };
}

/**
 * Checks a request's path/query parameters and JSON body against the operation's schemas.
 * @returns human-readable problems, empty when GitHub would accept the request.
 */
export function validateRequest(match: MatchedOperation, query: URLSearchParams, body: unknown): string[] {
  const op = operationOf(match);
  const { paramAjv, bodyAjv } = load();
  const problems: string[] = [];
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const validatePath = compiled(`${op.operationId}:path`, paramAjv, () => paramsSchema(pathParams));
  if (!validatePath({ ...match.pathParams })) problems.push(...describe(validatePath, 'path'));
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const queryValues: Record<string, string> = {};
  for (const p of queryParams) {
    const value = query.get(p.name);
    if (value !== null) queryValues[p.name] = value;
  }
  const validateQuery = compiled(`${op.operationId}:query`, paramAjv, () => paramsSchema(queryParams));
  if (!validateQuery(queryValues)) problems.push(...describe(validateQuery, 'query'));
  const content = isObject(op.requestBody?.content) ? op.requestBody.content : undefined;
  const jsonSchema = isObject(content?.['application/json']) ? content['application/json'].schema : undefined;
  if (jsonSchema !== undefined) {
    if (body === undefined) {
      if (op.requestBody?.required === true) problems.push('body is required');
    } else {
      const validateBody = compiled(`${op.operationId}:body`, bodyAjv, () => jsonSchema);
      if (!validateBody(body)) problems.push(...describe(validateBody, 'body'));
    }
  }
  return problems;
}

/**
 * Checks a response the fake sends against the description's schema for that status.
 * @returns problems; a status the operation does not document is one.
 */
export function validateResponse(match: MatchedOperation, status: number, body: unknown): string[] {
  const op = operationOf(match);
  const { doc, bodyAjv } = load();
  const response = resolveRef(doc, op.responses[String(status)]);
  if (!isObject(response)) return [`status ${status} is not documented for ${op.operationId}`];
  const content = isObject(response.content) ? response.content : undefined;
  const media = content?.['application/json'] ?? content?.['application/scim+json'];
  const schema = isObject(media) ? media.schema : undefined;
  if (schema === undefined) return body === undefined ? [] : [`${status} of ${op.operationId} has no body`];
  const validate = compiled(`${op.operationId}:${status}`, bodyAjv, () => schema);
  return validate(body) ? [] : describe(validate, `response ${status}`);
}

/**
 * Checks a webhook payload against the description's `x-webhooks` schema for `event`.`action`
 * (e.g. `workflow_job` + `queued` → `workflow-job-queued`).
 * @returns problems; an event/action GitHub does not document is one.
 */
export function validateWebhook(event: string, action: string, payload: unknown): string[] {
  const { doc, bodyAjv } = load();
  const key = `${event}-${action}`.replaceAll('_', '-');
  const hooks = isObject(doc['x-webhooks']) ? doc['x-webhooks'] : {};
  const hook = hooks[key];
  const post = isObject(hook) && isObject(hook.post) ? hook.post : undefined;
  const body =
    isObject(post?.requestBody) && isObject(post.requestBody.content) ? post.requestBody.content : {};
  const media = body['application/json'];
  const schema = isObject(media) ? media.schema : undefined;
  if (schema === undefined) return [`no x-webhooks schema for ${key}`];
  const validate = compiled(`webhook:${key}`, bodyAjv, () => schema);
  return validate(payload) ? [] : describe(validate, key);
}

/**
 * A fresh copy of one of the description's `components/examples` values: the shapes GitHub
 * documents, which the fake fills with its own ids, names and URLs. For a list example, its first item.
 * @throws {Error} when the example does not exist.
 */
export function openApiExample(name: string): Record<string, unknown> {
  const examples = load().doc.components;
  const all = isObject(examples) && isObject(examples.examples) ? examples.examples : {};
  const example = all[name];
  // `*-items` examples are lists: the first item is the shape of one.
  const value = isObject(example)
    ? Array.isArray(example.value)
      ? example.value[0]
      : example.value
    : undefined;
  if (!isObject(value)) throw new Error(`no OpenAPI example named ${name}`);
  return structuredClone(value);
}
