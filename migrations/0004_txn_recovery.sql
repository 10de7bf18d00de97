-- Transaction manager recovery records (`persistent-space: pg:NAME`), next to the ledger: one
-- append-only log per store name, replayed in `seq` order on start, compacted on a clean stop.
CREATE TABLE txn_recovery (
    store  TEXT NOT NULL,
    seq    BIGSERIAL NOT NULL,
    record JSONB NOT NULL,
    PRIMARY KEY (store, seq)
);
