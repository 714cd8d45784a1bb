import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, SAM, startHarness } from '../harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('GitHub App credentials', () => {
  it('dispatches with an installation token obtained with a signed app JWT, and keeps the key out of logs', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportPKCS8(privateKey);
    h = await startHarness({
      github: { app: { appId: 123, installationId: 456, publicKeyPem: await exportSPKI(publicKey) } },
      // As an env file carries it: one line, newlines escaped.
      env: {
        GITHUB_TOKEN: '',
        GITHUB_APP_ID: '123',
        GITHUB_APP_INSTALLATION_ID: '456',
        GITHUB_APP_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
      },
    });
    await h.say(SAM, '/deploy staging');
    await eventually(() => h.botMessages(SAM.id).at(-1)?.text.includes('Dispatched'), 20_000, 'dispatched');
    const paths = h.github.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(paths).toContain('POST /app/installations/456/access_tokens 201');
    expect(
      paths.some((p) => p.startsWith('POST /repos/acme/shop/actions/workflows/deploy.yml/dispatches 2')),
    ).toBe(true);
    const body = pem.split('\n').find((line) => line.length > 40) ?? '';
    expect(h.logs()).not.toContain(body);
  });

  it('serves services of two owners: the other owner’s installation is asked for once, its token reaches only its repositories', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportPKCS8(privateKey);
    h = await startHarness({
      github: {
        app: {
          appId: 123,
          installationId: 456,
          publicKeyPem: await exportSPKI(publicKey),
          installations: { 'other-org': 789 },
        },
        repositories: ['other-org/search'],
      },
      env: {
        GITHUB_TOKEN: '',
        GITHUB_APP_ID: '123',
        GITHUB_APP_INSTALLATION_ID: '456',
        GITHUB_APP_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
      },
      configYaml: `services:
  shop:
    repository: acme/shop
    environments: { staging: { branch: develop, role: staging, confirm: false } }
  search:
    repository: other-org/search
    environments: { qa: { branch: main, role: staging, confirm: false } }
`,
    });
    await h.say(SAM, '/deploy search qa');
    await eventually(() => h.github.repository('other-org/search').runs.list()[0], 20_000, 'search run');
    await h.say(SAM, '/deploy shop staging');
    await eventually(() => h.github.runs.list()[0], 20_000, 'shop run');
    const paths = h.github.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(paths.filter((p) => p === 'GET /repos/other-org/search/installation 200')).toHaveLength(1);
    expect(paths).toContain('POST /app/installations/789/access_tokens 201');
    expect(paths).toContain('POST /app/installations/456/access_tokens 201');
    expect(
      paths.some((p) =>
        p.startsWith('POST /repos/other-org/search/actions/workflows/deploy.yml/dispatches 2'),
      ),
    ).toBe(true);
    // No request was refused for reaching another owner's repository with the wrong installation.
    expect(paths.filter((p) => p.startsWith('GET /repos/') && p.endsWith(' 404'))).toEqual([]);
  });
});
