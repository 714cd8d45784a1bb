import { describe, expect, it } from 'vitest';
import { type DeploymentRecord, emptyDetail } from '../core/deployment.ts';
import { visibleLength } from './html.ts';
import { renderDeployment } from './render-deployment.ts';

const record: DeploymentRecord = {
  id: 'req-1',
  service: 'shop',
  environment: 'production',
  action: 'deploy',
  ref: 'main',
  sha: '0123456789abcdef0123456789abcdef01234567',
  subject: 'Fix <script>alert(1)</script> & "quotes"',
  author: 'Ada <ada@example.com>',
  requesterId: 1,
  requesterName: 'Ada & Co',
  chatId: 1,
  messageId: 2,
  state: 'failed',
  runId: 5,
  runUrl: 'https://github.com/acme/shop/actions/runs/5',
  detail: emptyDetail(),
  createdAt: 0,
  updatedAt: 0,
  dispatchedAt: 0,
  finishedAt: 125_000,
  version: 2,
  deliveredVersion: 1,
};

describe('renderDeployment', () => {
  it('escapes everything that came from GitHub or a user', () => {
    const text = renderDeployment(record, 200_000);
    expect(text).toContain('Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(text).toContain('Ada &lt;ada@example.com&gt;');
    expect(text).toContain('Ada &amp; Co');
    expect(text).not.toContain('<script>');
    expect(text).toContain('Failed</b> in 2m 05s');
  });

  it('stays under Telegram’s 4096 characters with a huge run, shortening steps and the log first', () => {
    const steps = Array.from({ length: 300 }, (_, i) => ({
      number: i + 1,
      name: `Step ${i} ${'x'.repeat(60)}`,
      status: 'completed' as const,
      conclusion: i === 150 ? 'failure' : 'success',
    }));
    const jobs = Array.from({ length: 12 }, (_, i) => ({
      id: i,
      name: `Job ${i}`,
      status: 'completed' as const,
      conclusion: 'failure',
      startedAt: 0,
      completedAt: 1,
      url: null,
      steps,
    }));
    const huge = {
      ...record,
      subject: 'S'.repeat(5000),
      detail: {
        ...emptyDetail(),
        jobs,
        failure: {
          job: 'Job 1',
          step: 'Step 150',
          logTail: Array.from({ length: 40 }, () => `<tag> & ${'y'.repeat(300)}`),
        },
      },
    };
    const text = renderDeployment(huge, 0);
    expect(visibleLength(text)).toBeLessThanOrEqual(4096);
    expect(text).toContain('Failed');
    expect(text).toContain('0123456');
  });

  it('shows the failed step and its log tail inside a pre block', () => {
    const failed = {
      ...record,
      detail: {
        ...emptyDetail(),
        failure: { job: 'Deploy', step: 'Health check', logTail: ['curl: (22) 502', 'a < b && c'] },
      },
    };
    const text = renderDeployment(failed, 0);
    expect(text).toContain('Failed in <b>Deploy</b> › Health check:');
    expect(text).toContain('<pre>curl: (22) 502\na &lt; b &amp;&amp; c</pre>');
  });
});
