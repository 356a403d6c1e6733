import { EventStoreDbEventStore } from '../src/platform/event-store/eventstoredb-event-store';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { describeEventStoreContract } from './event-store.contract';
import { createTestDatabase } from './support/test-database';

describeEventStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase();
  const store = new PostgresEventStore(database.url, { pollIntervalMs: 200 });
  return {
    store,
    dispose: async () => {
      await store.close();
      await database.drop();
    },
  };
});

// EventStoreDB cannot run where this project is developed; CI and developers with a server set
// EVENTSTORE_CONNECTION_STRING (e.g. esdb://127.0.0.1:2113?tls=false) to hold it to the same contract.
const eventStoreDbConnectionString = process.env.EVENTSTORE_CONNECTION_STRING;
if (eventStoreDbConnectionString !== undefined && eventStoreDbConnectionString !== '') {
  describeEventStoreContract('EventStoreDB', async () => {
    const store = new EventStoreDbEventStore(eventStoreDbConnectionString, {});
    return { store, dispose: () => store.close() };
  });
}
