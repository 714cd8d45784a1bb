import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { createApp } from './app.ts';

describe('GET /readyz', () => {
  it('is ready when storage answers and nothing is awaited', async () => {
    const app = createApp({ metrics: createMetrics(), ping: async () => {}, waitingFor: () => [] });
    const response = await app.request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true });
  });

  it('answers 503 "shutting down" once the instance drains, whatever else holds', async () => {
    let draining = false;
    const app = createApp({ metrics: createMetrics(), ping: async () => {}, draining: () => draining });
    expect((await app.request('/readyz')).status).toBe(200);
    draining = true;
    const response = await app.request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ ready: false, waiting_for: [], problem: 'shutting down' });
    // Liveness is another question: the process is fine, it is just leaving.
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('names storage and the dependencies still awaited', async () => {
    const app = createApp({
      metrics: createMetrics(),
      ping: async () => {
        throw new Error('store unavailable');
      },
      waitingFor: () => ['telegram'],
    });
    const response = await app.request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ready: false,
      waiting_for: ['telegram', 'storage'],
      problem: 'store unavailable',
    });
  });
});
