import { expect, it } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import type { ContractSuite } from './store-contract.ts';
import { deployment, lock, T0 } from './store-contract-fixtures.ts';

/** Services (migration 6): records and locks are kept per service; old rows are adopted once. */
export function describeServicesContract(suite: ContractSuite): void {
  it('keeps a lock per service: the same environment of another service is free', async () => {
    const store = suite.store();
    const shop = await store.acquireLock({ ...lock(), service: 'shop' }, T0);
    const billing = await store.acquireLock({ ...lock({ ownerId: 9 }), service: 'billing' }, T0);
    expect(shop.ok && billing.ok).toBe(true);
    const again = await store.acquireLock({ ...lock({ ownerId: 7 }), service: 'shop' }, T0);
    expect(again.ok ? null : again.held).toMatchObject({ service: 'shop', ownerId: 1 });
    expect((await store.getLock('production', T0, 'billing'))?.ownerId).toBe(9);
    expect(await store.getLock('production', T0)).toBeNull();
    expect((await store.listLocks(T0)).map((l) => l.service)).toEqual(['billing', 'shop']);
    expect(await store.markLockReminded('production', T0, T0 + 1, 'billing')).toBe(true);
    expect((await store.getLock('production', T0, 'shop'))?.remindedAt).toBeNull();
    expect((await store.releaseLock('production', T0, 'shop'))?.service).toBe('shop');
    expect((await store.getLock('production', T0, 'billing'))?.ownerId).toBe(9);
  });

  it('records a deployment’s service and lists by it', async () => {
    const store = suite.store();
    const a = await store.insertDeployment(deployment({ service: 'shop' }));
    const b = await store.insertDeployment(deployment({ service: 'billing', createdAt: T0 + 1 }));
    const old = await store.insertDeployment(deployment({ createdAt: T0 + 2 }));
    expect([a.service, b.service, old.service]).toEqual(['shop', 'billing', '']);
    expect((await store.listDeployments({ service: 'shop' })).map((r) => r.id)).toEqual([a.id]);
    expect(
      (await store.listDeployments({ service: 'billing', environment: 'staging' })).map((r) => r.id),
    ).toEqual([b.id]);
  });

  it('adopts rows made before services once, and a service’s own lock wins over an old one', async () => {
    const store = suite.store();
    const old = await store.insertDeployment(deployment());
    await store.acquireLock(lock({ environment: 'staging' }), T0);
    await store.acquireLock(lock({ environment: 'production', ownerId: 1 }), T0);
    await store.acquireLock({ ...lock({ environment: 'production', ownerId: 2 }), service: 'shop' }, T0);
    expect(await store.adoptUnscoped('shop')).toBe(2);
    expect(await store.adoptUnscoped('shop')).toBe(0);
    expect((await store.getDeployment(old.id))?.service).toBe('shop');
    expect((await store.getLock('staging', T0, 'shop'))?.ownerId).toBe(1);
    expect((await store.getLock('production', T0, 'shop'))?.ownerId).toBe(2);
    expect(await store.listLocks(T0)).toHaveLength(2);
  });
}

/** What a database made by the version before services holds after migrate + adoptUnscoped('shop'). */
export async function expectPreServicesDataAdopted(store: Store): Promise<void> {
  expect(await store.adoptUnscoped('shop')).toBe(2);
  const record = await store.getDeployment('before-services');
  expect(record).toMatchObject({ service: 'shop', environment: 'staging', state: 'succeeded' });
  expect((await store.listDeployments({ service: 'shop', environment: 'staging' })).map((r) => r.id)).toEqual(
    ['before-services'],
  );
  expect(await store.getLock('production', T0, 'shop')).toMatchObject({ ownerId: 1001, reason: 'freeze' });
  // The key is (service, environment) now: another service locks the same environment.
  const other = await store.acquireLock({ ...lock(), service: 'billing' }, T0);
  expect(other.ok).toBe(true);
}
