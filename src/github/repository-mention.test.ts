import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Repository, serviceOfRepository } from '../core/service.ts';
import { repositoryOf } from './read-delivery.ts';
import { mayNameRepository } from './repository-mention.ts';

const served: Repository[] = [
  { owner: 'acme', repo: 'shop' },
  { owner: 'Acme', repo: 'billing.api' },
  { owner: 'kube-team', repo: 'ops_1' },
];
const mayName = mayNameRepository(served);
/** What the handler decides from the parsed payload: the service of its repository, if any. */
const servedBy = (body: Buffer) =>
  serviceOfRepository(
    served.map((repository, i) => ({ ...service, name: `s${i}`, repository })),
    repositoryOf({ id: 'd', name: 'push', payload: JSON.parse(body.toString('utf8')) }) ?? {
      owner: '',
      repo: '',
    },
  );
const service = { workflow: 'deploy.yml', environments: [], admins: [], deployers: [], chats: [] };

/** A JSON string literal for `text`, each character escaped as `\uXXXX` where `mask` says so, `/` also as `\/`. */
function literal(text: string, mask: number[]): string {
  let out = '"';
  [...text].forEach((ch, i) => {
    const m = mask[i % Math.max(mask.length, 1)] ?? 0;
    if (m === 1) out += [...ch].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    else if (m === 2 && ch === '/') out += '\\/';
    else out += JSON.stringify(ch).slice(1, -1);
  });
  return `${out}"`;
}

/** Names near the served ones: other cases, a Kelvin sign for a k, extra path, a prefix, or anything. */
const nearName = fc.oneof(
  fc.constantFrom(...served).chain(({ owner, repo }) =>
    fc
      .tuple(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }),
        fc.constantFrom('', '/x', 'x', '-2'),
        fc.constantFrom('', 'x', ' '),
        fc.boolean(),
      )
      .map(([upper, suffix, prefix, kelvin]) => {
        const name = [...`${owner}/${repo}`]
          .map((ch, i) => (upper[i % upper.length] ? ch.toUpperCase() : ch.toLowerCase()))
          .join('');
        return prefix + (kelvin ? name.replace(/k/i, '\u212a') : name) + suffix;
      }),
  ),
  fc.string(),
  fc.constantFrom('acme/blog', 'acme', '/', 'octo/shop', 'acme/shopping'),
);

describe('mayNameRepository: false only for a body whose repository no service has', () => {
  it('never rules out a payload whose repository.full_name is served, however it is written (property)', () => {
    fc.assert(
      fc.property(
        nearName,
        fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }),
        fc.option(nearName, { nil: undefined }),
        fc.jsonValue(),
        fc.constantFrom('', ' ', '\n  '),
        (name, mask, decoy, extra, space) => {
          const repository = `{${space}"full_name"${space}:${space}${literal(name, mask)},"id":1}`;
          // A decoy repository first: JSON.parse keeps the last of duplicate keys.
          const first = decoy === undefined ? '' : `"repository":{"full_name":${JSON.stringify(decoy)}},`;
          const text = `{${space}${first}"extra":${JSON.stringify(extra)},"repository":${repository}${space}}`;
          const body = Buffer.from(text, 'utf8');
          if (!mayName(body)) expect(servedBy(body)).toBeUndefined();
          if (servedBy(body)) expect(mayName(body)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('rules in every escape that could spell a name, and a Kelvin sign', () => {
    for (const text of [
      '{"repository":{"full_name":"\\u0061cme/shop"}}',
      '{"repository":{"full_name":"acme\\/shop"}}',
      '{"repository":{"full\\u005fname":"acme/shop"}}',
      '{"repository":{"full_name"\t:\r\n"acme/shop"}}',
      '{"repository":{"full_name":"\u212aube-team/ops_1"}}',
      '{"repository":{"full_name":"ACME/Billing.API/x"}}',
    ]) {
      expect(servedBy(Buffer.from(text)), text).toBeDefined();
      expect(mayName(Buffer.from(text)), text).toBe(true);
    }
    expect(mayName(Buffer.from('{"repository":{"full_name":"acme/billing_api"}}'))).toBe(false);
    expect(mayNameRepository([])(Buffer.from('{}'))).toBe(true);
  });

  it("rules out @octokit/webhooks-examples' payloads of other repositories, and in the same with a served one", () => {
    const require = createRequire(import.meta.url);
    const examples = (
      require('@octokit/webhooks-examples/api.github.com/index.json') as {
        examples: Record<string, unknown>[];
      }[]
    ).flatMap((e) => e.examples);
    let ruledOut = 0;
    for (const payload of examples) {
      const body = Buffer.from(JSON.stringify(payload));
      expect(servedBy(body)).toBeUndefined();
      if (!mayName(body)) ruledOut++;
      if (!payload.repository) continue;
      const ours = Buffer.from(
        JSON.stringify({
          ...payload,
          repository: { ...(payload.repository as object), full_name: 'ACME/shop' },
        }),
      );
      expect(mayName(ours)).toBe(true);
    }
    // Those with a `\u` or `\/` anywhere are parsed as usual; the rest are ruled out.
    expect(ruledOut).toBeGreaterThan(examples.length * 0.95);
  });
});
