/**
 * Numbered schema migrations, one list per driver. A migration is never edited once released: a
 * change to the schema is a new entry with the next number. Each store applies the missing ones in
 * one transaction and records them in `schema_migrations`.
 *
 * Indexes follow the queries: run id lookups (unique where set), runs in flight (state, finished_at),
 * history per environment (environment, created_at), edits owed (a partial index on exactly the
 * `listUndelivered` predicate: a chat, and a version not yet shown), and delivery expiry (seen_at).
 */

/** One schema step. */
export type Migration = { version: number; name: string; sql: string };

/** SQLite: STRICT tables, so a value of the wrong type is refused on write rather than read back odd. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  environment TEXT NOT NULL,
  action TEXT NOT NULL,
  ref TEXT NOT NULL,
  sha TEXT NOT NULL,
  subject TEXT NOT NULL,
  author TEXT NOT NULL,
  requester_id INTEGER,
  requester_name TEXT NOT NULL,
  chat_id INTEGER,
  message_id INTEGER,
  state TEXT NOT NULL,
  run_id INTEGER,
  run_url TEXT,
  detail TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  dispatched_at INTEGER,
  finished_at INTEGER,
  version INTEGER NOT NULL,
  delivered_version INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX deployments_run_id ON deployments (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX deployments_state_finished ON deployments (state, finished_at);
CREATE INDEX deployments_environment_created ON deployments (environment, created_at, id);
CREATE INDEX deployments_created ON deployments (created_at, id);
CREATE INDEX deployments_undelivered ON deployments (updated_at, id)
  WHERE message_id IS NOT NULL AND version > delivered_version;

CREATE TABLE confirmations (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  deployment_id TEXT NOT NULL,
  requester_id INTEGER NOT NULL,
  chat_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT;

CREATE TABLE deliveries (
  source TEXT NOT NULL,
  key TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (source, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX deliveries_seen_at ON deliveries (seen_at);

CREATE TABLE locks (
  environment TEXT PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  owner_name TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reminded_at INTEGER
) STRICT;

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    name: 'first messages owed; audit anchors',
    sql: `
-- Records made before the outbox sent every first message were told by their command handler.
UPDATE deployments SET delivered_version = version WHERE message_id IS NULL;
DROP INDEX deployments_undelivered;
CREATE INDEX deployments_undelivered ON deployments (updated_at, id)
  WHERE chat_id IS NOT NULL AND version > delivered_version;

CREATE TABLE audit_anchors (
  chain TEXT PRIMARY KEY,
  line_count INTEGER NOT NULL,
  last_hash TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 3,
    name: 'linked GitHub accounts; review votes',
    sql: `
-- Tokens are sealed (AES-256-GCM under DEPLOYBOT_ENCRYPTION_KEY) before they are stored.
CREATE TABLE linked_accounts (
  telegram_user_id INTEGER PRIMARY KEY,
  github_login TEXT NOT NULL,
  github_user_id INTEGER NOT NULL,
  token_sealed TEXT NOT NULL,
  token_expires_at INTEGER,
  refresh_sealed TEXT,
  refresh_expires_at INTEGER,
  linked_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE review_votes (
  run_id INTEGER NOT NULL,
  telegram_user_id INTEGER NOT NULL,
  github_login TEXT NOT NULL,
  decision TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, telegram_user_id)
) STRICT;
CREATE UNIQUE INDEX review_votes_login ON review_votes (run_id, lower(github_login));
`,
  },
  {
    version: 4,
    name: 'cluster audit chain',
    sql: `
CREATE TABLE audit_entries (
  seq INTEGER PRIMARY KEY,
  ts TEXT NOT NULL,
  actor_id INTEGER,
  actor_name TEXT,
  action TEXT NOT NULL,
  environment TEXT,
  sha TEXT,
  request_id TEXT,
  outcome TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 5,
    name: 'chat pace shared by the cluster',
    sql: `
CREATE TABLE chat_pace (
  chat_id INTEGER PRIMARY KEY,
  next_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 6,
    name: 'services: deployments and locks per service',
    sql: `
-- '' is "made before services": the start-up gives such rows to the first service (adoptUnscoped).
ALTER TABLE deployments ADD COLUMN service TEXT NOT NULL DEFAULT '';
CREATE INDEX deployments_service_environment_created ON deployments (service, environment, created_at, id);

-- A lock's key becomes (service, environment); SQLite cannot change a primary key in place.
CREATE TABLE locks_by_service (
  service TEXT NOT NULL DEFAULT '',
  environment TEXT NOT NULL,
  owner_id INTEGER NOT NULL,
  owner_name TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  reminded_at INTEGER,
  PRIMARY KEY (service, environment)
) STRICT;
INSERT INTO locks_by_service (service, environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at)
  SELECT '', environment, owner_id, owner_name, reason, created_at, expires_at, reminded_at FROM locks;
DROP TABLE locks;
ALTER TABLE locks_by_service RENAME TO locks;
`,
  },
];

/**
 * PostgreSQL, every table qualified with `schema` (already quoted by the caller). Timestamps and
 * Telegram/GitHub ids are bigint milliseconds / numbers; `detail` is jsonb.
 */
const POSTGRES_MIGRATIONS: ReadonlyArray<Omit<Migration, 'sql'> & { sql: (s: string) => string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: (s) => `
CREATE TABLE ${s}.deployments (
  id text PRIMARY KEY,
  environment text NOT NULL,
  action text NOT NULL,
  ref text NOT NULL,
  sha text NOT NULL,
  subject text NOT NULL,
  author text NOT NULL,
  requester_id bigint,
  requester_name text NOT NULL,
  chat_id bigint,
  message_id bigint,
  state text NOT NULL,
  run_id bigint,
  run_url text,
  detail jsonb NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  dispatched_at bigint,
  finished_at bigint,
  version integer NOT NULL,
  delivered_version integer NOT NULL
);
CREATE UNIQUE INDEX deployments_run_id ON ${s}.deployments (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX deployments_state_finished ON ${s}.deployments (state, finished_at);
CREATE INDEX deployments_environment_created ON ${s}.deployments (environment, created_at, id);
CREATE INDEX deployments_created ON ${s}.deployments (created_at, id);
CREATE INDEX deployments_undelivered ON ${s}.deployments (updated_at, id)
  WHERE message_id IS NOT NULL AND version > delivered_version;

CREATE TABLE ${s}.confirmations (
  id text PRIMARY KEY,
  kind text NOT NULL,
  deployment_id text NOT NULL,
  requester_id bigint NOT NULL,
  chat_id bigint NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint
);

CREATE TABLE ${s}.deliveries (
  source text NOT NULL,
  key text NOT NULL,
  seen_at bigint NOT NULL,
  PRIMARY KEY (source, key)
);
CREATE INDEX deliveries_seen_at ON ${s}.deliveries (seen_at);

CREATE TABLE ${s}.locks (
  environment text PRIMARY KEY,
  owner_id bigint NOT NULL,
  owner_name text NOT NULL,
  reason text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  reminded_at bigint
);

CREATE TABLE ${s}.leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  expires_at bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'first messages owed; audit anchors',
    sql: (s) => `
-- Records made before the outbox sent every first message were told by their command handler.
UPDATE ${s}.deployments SET delivered_version = version WHERE message_id IS NULL;
DROP INDEX ${s}.deployments_undelivered;
CREATE INDEX deployments_undelivered ON ${s}.deployments (updated_at, id)
  WHERE chat_id IS NOT NULL AND version > delivered_version;

CREATE TABLE ${s}.audit_anchors (
  chain text PRIMARY KEY,
  line_count bigint NOT NULL,
  last_hash text NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'linked GitHub accounts; review votes',
    sql: (s) => `
-- Tokens are sealed (AES-256-GCM under DEPLOYBOT_ENCRYPTION_KEY) before they are stored.
CREATE TABLE ${s}.linked_accounts (
  telegram_user_id bigint PRIMARY KEY,
  github_login text NOT NULL,
  github_user_id bigint NOT NULL,
  token_sealed text NOT NULL,
  token_expires_at bigint,
  refresh_sealed text,
  refresh_expires_at bigint,
  linked_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE ${s}.review_votes (
  run_id bigint NOT NULL,
  telegram_user_id bigint NOT NULL,
  github_login text NOT NULL,
  decision text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (run_id, telegram_user_id)
);
CREATE UNIQUE INDEX review_votes_login ON ${s}.review_votes (run_id, lower(github_login));
`,
  },
  {
    version: 4,
    name: 'cluster audit chain',
    sql: (s) => `
CREATE TABLE ${s}.audit_entries (
  seq bigint PRIMARY KEY,
  ts text NOT NULL,
  actor_id bigint,
  actor_name text,
  action text NOT NULL,
  environment text,
  sha text,
  request_id text,
  outcome text,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'chat pace shared by the cluster',
    sql: (s) => `
CREATE TABLE ${s}.chat_pace (
  chat_id bigint PRIMARY KEY,
  next_at bigint NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'services: deployments and locks per service',
    sql: (s) => `
ALTER TABLE ${s}.deployments ADD COLUMN service text NOT NULL DEFAULT '';
CREATE INDEX deployments_service_environment_created ON ${s}.deployments (service, environment, created_at, id);
ALTER TABLE ${s}.locks ADD COLUMN service text NOT NULL DEFAULT '';
ALTER TABLE ${s}.locks DROP CONSTRAINT locks_pkey;
ALTER TABLE ${s}.locks ADD PRIMARY KEY (service, environment);
`,
  },
];

export function postgresMigrations(schema: string): readonly Migration[] {
  return POSTGRES_MIGRATIONS.map((m) => ({ ...m, sql: m.sql(schema) }));
}
