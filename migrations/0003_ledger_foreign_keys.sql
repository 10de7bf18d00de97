-- Foreign keys on the high-volume ledger tables: entries -> GL transactions and accounts,
-- balances -> accounts. 0001 left them out for throughput; measured with `switchyard bench ledger`
-- (docs/PERFORMANCE.md) they cost little, because `post` already holds FOR UPDATE locks on every
-- account it writes (the RI check's KEY SHARE lock by the same transaction is subsumed, no MultiXact)
-- and the GL transaction row is inserted by the same transaction. No FK to gl_journals: every post
-- would KEY SHARE the one journal row, the contention 0001 describes. Accounts and GL transactions
-- are never deleted, so the referencing columns need no extra index.
--
-- NOT VALID then VALIDATE: on an existing ledger, validation scans without blocking posts for long.
ALTER TABLE gl_entries
    ADD CONSTRAINT gl_entries_txn_fk FOREIGN KEY (txn_id) REFERENCES gl_transactions (id) NOT VALID;
ALTER TABLE gl_entries
    ADD CONSTRAINT gl_entries_account_fk FOREIGN KEY (account_id) REFERENCES gl_accounts (id) NOT VALID;
ALTER TABLE gl_balances
    ADD CONSTRAINT gl_balances_account_fk FOREIGN KEY (account_id) REFERENCES gl_accounts (id) NOT VALID;

ALTER TABLE gl_entries VALIDATE CONSTRAINT gl_entries_txn_fk;
ALTER TABLE gl_entries VALIDATE CONSTRAINT gl_entries_account_fk;
ALTER TABLE gl_balances VALIDATE CONSTRAINT gl_balances_account_fk;
