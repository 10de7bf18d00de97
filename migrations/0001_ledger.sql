-- Switchyard ledger schema: a layered double-entry general ledger with jPOS-EE miniGL semantics.
--
-- Invariants (enforced by src/ledger/post.rs, checked by `switchyard ledger check`):
--   * gl_transactions and gl_entries are append-only: never updated, never deleted.
--   * every transaction balances (debits = credits) on each layer its journal declares double-entry.
--   * gl_balances holds, per (journal, account, layer), the net (debits - credits) of all entries, the
--     number of entries (seq) and the timestamp of the last one; it is updated only under the account's
--     row lock (SELECT ... FROM gl_accounts ... ORDER BY id FOR UPDATE).
-- The SQL stays within what CockroachDB and YugabyteDB run: no triggers, no advisory locks, no
-- PL/pgSQL; row locks and ON CONFLICT upserts only.

CREATE TABLE gl_journals (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    -- a closed journal accepts no posts (miniGL CanPost)
    closed      BOOLEAN NOT NULL DEFAULT FALSE,
    -- posts must have start_date <= post_date <= end_date, and post_date > lock_date
    start_date  DATE,
    end_date    DATE,
    lock_date   DATE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The layers a journal accepts; double_entry layers must balance in every transaction.
CREATE TABLE gl_journal_layers (
    journal_id   BIGINT NOT NULL REFERENCES gl_journals (id),
    layer        SMALLINT NOT NULL,
    double_entry BOOLEAN NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (journal_id, layer)
);

-- Chart of accounts. A composite account's balance is the sum of its final descendants, whose codes
-- start with the composite's code.
CREATE TABLE gl_accounts (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL CHECK (kind IN ('composite', 'final')),
    nature      TEXT NOT NULL CHECK (nature IN ('debit', 'credit')),
    currency    TEXT,
    parent_id   BIGINT REFERENCES gl_accounts (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX gl_accounts_parent ON gl_accounts (parent_id);

-- The high-volume tables (gl_transactions, gl_entries, gl_balances) carry no foreign keys to
-- journals/accounts/transactions: each would cost a lookup plus a KEY SHARE lock per row, and every
-- concurrent post would share-lock the same journal row (MultiXact contention). `post` resolves and
-- locks every account and journal it writes, nothing is ever deleted, and `ledger check` audits for
-- orphans. The one remaining reference, `reverses`, is rare and guards double reversal.
CREATE TABLE gl_transactions (
    id         UUID PRIMARY KEY,
    journal_id BIGINT NOT NULL,
    post_date  DATE NOT NULL,
    -- when the ledger recorded it; non-decreasing per (journal, account, layer), see gl_entries.seq
    ts         TIMESTAMPTZ NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    -- comma-separated tags, as miniGL stores them
    tags       TEXT NOT NULL DEFAULT '',
    -- the transaction this one reverses; UNIQUE: a transaction is reversed at most once
    reverses   UUID UNIQUE REFERENCES gl_transactions (id)
);

CREATE TABLE gl_entries (
    txn_id     UUID NOT NULL,
    line       SMALLINT NOT NULL,
    journal_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    layer      SMALLINT NOT NULL,
    credit     BOOLEAN NOT NULL,
    amount     NUMERIC NOT NULL CHECK (amount > 0),
    detail     TEXT NOT NULL DEFAULT '',
    -- copy of the transaction's ts, so as-of reads use one index
    ts         TIMESTAMPTZ NOT NULL,
    -- 1, 2, 3 ... per (journal, account, layer) in posting order
    seq        BIGINT NOT NULL,
    -- net (debits - credits) of (journal, account, layer) after this entry
    running    NUMERIC NOT NULL,
    PRIMARY KEY (txn_id, line)
);
CREATE UNIQUE INDEX gl_entries_account_seq ON gl_entries (journal_id, account_id, layer, seq);
CREATE INDEX gl_entries_account_ts ON gl_entries (journal_id, account_id, layer, ts, seq);

-- Running balance per (journal, account, layer): O(1) current balances at any history size.
CREATE TABLE gl_balances (
    journal_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    layer      SMALLINT NOT NULL,
    balance    NUMERIC NOT NULL,
    seq        BIGINT NOT NULL,
    last_ts    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (journal_id, account_id, layer)
);

-- Posting rules per journal (and optionally per account), checked at post time under the account locks.
-- min_balance / max_balance: the balance of a final account over `layers`, including this post's impact,
-- must stay >= / <= amount. can_post: account_id may not be posted in this journal (a frozen account).
CREATE TABLE gl_rules (
    id          BIGSERIAL PRIMARY KEY,
    journal_id  BIGINT NOT NULL REFERENCES gl_journals (id),
    account_id  BIGINT REFERENCES gl_accounts (id),
    kind        TEXT NOT NULL CHECK (kind IN ('min_balance', 'max_balance', 'no_post')),
    layers      SMALLINT[] NOT NULL DEFAULT '{}',
    amount      NUMERIC,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gl_rules_journal ON gl_rules (journal_id);
