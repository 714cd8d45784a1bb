// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL interpolations like ${var.x} are literal strings here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { REPO_ROOT } from './find-tool.ts';

/** The terraform/ directory and its .tf files. */
export const tfDir = path.join(REPO_ROOT, 'terraform');
export const tfFiles = readdirSync(tfDir).filter((f) => f.endsWith('.tf'));

// hcl2json hands back untyped JSON: these helpers are the trust boundary.
export type Json = Record<string, unknown>;
export const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Every block of a kind (resource/data) and type across the files, by name. */
export type Blocks = Map<string, Json>;

/** The Terraform configuration as hcl2json parses it, merged across files. */
export interface Terraform {
  resources: Map<string, Blocks>;
  data: Map<string, Blocks>;
  variables: Map<string, Json>;
  outputs: Map<string, Json>;
  locals: Json;
  /** The resource `type.name`. @throws {Error} when there is none. */
  resource(type: string, name: string): Json;
  /** The statements of `data.aws_iam_policy_document.<name>`. @throws {Error} when there is none. */
  statements(name: string): Json[];
  /** Replaces `${local.x}` in a string (or each string of an array), recursively. */
  resolveLocals(value: unknown): unknown;
}

/** Parses every .tf file of terraform/. */
export async function loadTerraform(): Promise<Terraform> {
  const resources = new Map<string, Blocks>();
  const data = new Map<string, Blocks>();
  const variables = new Map<string, Json>();
  const outputs = new Map<string, Json>();
  const locals: Json = {};
  for (const file of tfFiles) {
    const parsed = await parse(file, readFileSync(path.join(tfDir, file), 'utf8'));
    for (const [kind, target] of [
      ['resource', resources],
      ['data', data],
    ] as const) {
      for (const [type, byName] of Object.entries(obj(parsed[kind]))) {
        const blocks = target.get(type) ?? new Map<string, Json>();
        for (const [name, body] of Object.entries(obj(byName))) blocks.set(name, obj(list(body)[0]));
        target.set(type, blocks);
      }
    }
    for (const [name, body] of Object.entries(obj(parsed.variable))) variables.set(name, obj(list(body)[0]));
    for (const [name, body] of Object.entries(obj(parsed.output))) outputs.set(name, obj(list(body)[0]));
    for (const block of list(parsed.locals)) Object.assign(locals, obj(block));
  }
  const resolveLocals = (value: unknown, depth = 0): unknown => {
    if (Array.isArray(value)) return value.map((v) => resolveLocals(v, depth));
    if (typeof value !== 'string' || depth > 5) return value;
    const whole = /^\$\{local\.([a-z_]+)\}$/.exec(value);
    if (whole?.[1] !== undefined) return resolveLocals(locals[whole[1]], depth + 1);
    const replaced = value.replace(/\$\{local\.([a-z_]+)\}/g, (_m, name: string) => String(locals[name]));
    return replaced === value ? value : resolveLocals(replaced, depth + 1);
  };
  return {
    resources,
    data,
    variables,
    outputs,
    locals,
    resource(type, name) {
      const found = resources.get(type)?.get(name);
      if (!found) throw new Error(`terraform has no resource ${type}.${name}`);
      return found;
    },
    statements(name) {
      const doc = data.get('aws_iam_policy_document')?.get(name);
      if (!doc) throw new Error(`terraform has no data.aws_iam_policy_document.${name}`);
      return list(doc.statement).map(obj);
    },
    resolveLocals: (value) => resolveLocals(value),
  };
}
