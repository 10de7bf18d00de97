-- Sharded running balances for hot accounts (docs/ledger.md "Hot accounts").
--
-- An account every transaction credits (an acquirer's settlement account, a fee income account)
-- serializes all posts on its row lock. `gl_accounts.shards` > 1 splits its running balance per
-- (journal, layer) into that many sub-balances: a post that needs no rule on the account locks one
-- free shard row (`FOR UPDATE SKIP LOCKED`) instead of the account, so posts run side by side. The
-- balance is the sum over shards; `seq` and `running` count per shard. Unsharded accounts use shard 0
-- only, exactly as before. An account covered by a balance rule is locked whole, as before.

ALTER TABLE gl_accounts ADD COLUMN shards SMALLINT NOT NULL DEFAULT 1
    CHECK (shards BETWEEN 1 AND 256);

ALTER TABLE gl_balances ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE gl_balances DROP CONSTRAINT gl_balances_pkey;
ALTER TABLE gl_balances ADD PRIMARY KEY (journal_id, account_id, layer, shard);

ALTER TABLE gl_entries ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
DROP INDEX gl_entries_account_seq;
CREATE UNIQUE INDEX gl_entries_account_seq ON gl_entries (journal_id, account_id, layer, shard, seq);

-- Rules are looked up by the accounts a post touches (and their ancestors), not by journal.
CREATE INDEX gl_rules_account ON gl_rules (account_id);
