import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../src/store/store.ts';
import { describeAccountsContract } from './store-contract-accounts.ts';
import { describeClaimsContract } from './store-contract-claims.ts';
import { describeDeploymentsContract } from './store-contract-deployments.ts';
import { describeServicesContract } from './store-contract-services.ts';
import { describeSharedStoreContract } from './store-contract-shared.ts';

/** What a driver's test file hands the contract: a fresh, empty, not yet migrated store. */
export type StoreFixture = {
  store: Store;
  /** Closes what the fixture opened and removes its data (temp files, schemas). */
  cleanup(): Promise<void>;
  /** Another store object on the same database (a second process or instance); absent for `:memory:`. */
  openAnother?: () => Promise<Store>;
};

/** What a topic of the contract reads from the suite: the current test's store and fixture. */
export type ContractSuite = {
  /** The migrated store of the running test. */
  store(): Store;
  /** The fixture of the running test. */
  fixture(): StoreFixture;
  /**
   * A second, migrated store object on the same database, closed after the test.
   * @throws {Error} when the fixture has no `openAnother`.
   */
  another(): Promise<Store>;
};

/**
 * The behaviour every Store promises (src/store/store.ts), written only against the interface.
 * `makeStore` gives a fresh empty store per test; with `openAnother` the suite also checks that data
 * survives close + reopen and that two store objects on one database keep claims single.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    const extra: Store[] = [];

    async function another(): Promise<Store> {
      if (fixture.openAnother === undefined) throw new Error('this fixture has no second store');
      const second = await fixture.openAnother();
      extra.push(second);
      await second.migrate();
      return second;
    }

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      await store.migrate();
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await fixture.cleanup();
    });

    const suite: ContractSuite = { store: () => store, fixture: () => fixture, another };
    describeDeploymentsContract(suite);
    describeClaimsContract(suite);
    describeSharedStoreContract(suite);
    describeAccountsContract(suite);
    describeServicesContract(suite);
  });
}
