-- jCard entities and the transaction log, used by the `switchyard-participants` crate.
--
-- Kept in the single embedded migrator (numbered 0100 so core migrations keep 0001..0099): one
-- `switchyard db migrate` creates everything, and the ledger tables these rows reference exist first.
-- Secrets are never stored in clear: a card is found by HMAC-SHA256(key, PAN) (`pan_hash`); only the
-- token and the last four digits are kept beside it.

CREATE TABLE jc_issuers (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    institution_id TEXT NOT NULL,
    journal_id     BIGINT NOT NULL REFERENCES gl_journals (id),
    active         BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE jc_card_products (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    issuer_id      BIGINT NOT NULL REFERENCES jc_issuers (id),
    -- composite account the cardholder accounts of this product live under
    issued_account TEXT NOT NULL REFERENCES gl_accounts (code),
    -- income account the issuer's fees are credited to
    fee_account    TEXT NOT NULL REFERENCES gl_accounts (code),
    active         BOOLEAN NOT NULL DEFAULT TRUE
);

-- Fees per product: `kind` like `CashAdvance.flat.840` or `CashAdvance.%.840` (transaction type,
-- flat amount or percentage, currency), as jCard names them.
CREATE TABLE jc_fees (
    product_id BIGINT NOT NULL REFERENCES jc_card_products (id),
    kind       TEXT NOT NULL,
    amount     NUMERIC NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (product_id, kind)
);

-- Velocity limits per product: at most `max_count` approved transactions and `max_amount` in
-- `currency` per card within `period_seconds`, for the listed transaction types (empty = all debits).
CREATE TABLE jc_velocity_limits (
    product_id     BIGINT NOT NULL REFERENCES jc_card_products (id),
    name           TEXT NOT NULL,
    period_seconds INTEGER NOT NULL CHECK (period_seconds > 0),
    currency       SMALLINT NOT NULL,
    max_count      INTEGER CHECK (max_count >= 0),
    max_amount     NUMERIC CHECK (max_amount >= 0),
    txn_types      TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (product_id, name)
);

CREATE TABLE jc_cardholders (
    id       BIGSERIAL PRIMARY KEY,
    ref      TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    active   BOOLEAN NOT NULL DEFAULT TRUE
);

-- The cardholder's GL accounts by CMF account type (10 savings, 20 checking, 30 credit ...) and currency.
CREATE TABLE jc_cardholder_accounts (
    cardholder_id BIGINT NOT NULL REFERENCES jc_cardholders (id),
    account_type  TEXT NOT NULL CHECK (account_type ~ '^[0-9]{2}$'),
    currency      SMALLINT NOT NULL,
    account       TEXT NOT NULL UNIQUE REFERENCES gl_accounts (code),
    -- credit accounts also count the credit line layer (currency + 2000) as available
    credit        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (cardholder_id, account_type, currency)
);

CREATE TABLE jc_cards (
    id            BIGSERIAL PRIMARY KEY,
    -- HMAC-SHA256(pan key, PAN), hex: the only way to find a card by its number
    pan_hash      TEXT NOT NULL UNIQUE,
    token         TEXT NOT NULL UNIQUE,
    last4         TEXT NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    bin           TEXT NOT NULL,
    expiry        TEXT NOT NULL CHECK (expiry ~ '^[0-9]{4}$'),
    status        TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'lost', 'stolen', 'suspended')),
    product_id    BIGINT NOT NULL REFERENCES jc_card_products (id),
    cardholder_id BIGINT NOT NULL REFERENCES jc_cardholders (id)
);

CREATE TABLE jc_acquirers (
    id                  BIGSERIAL PRIMARY KEY,
    -- DE 32
    institution_id      TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    transaction_account TEXT NOT NULL REFERENCES gl_accounts (code),
    fee_account         TEXT NOT NULL REFERENCES gl_accounts (code),
    active              BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE jc_merchants (
    id          BIGSERIAL PRIMARY KEY,
    acquirer_id BIGINT NOT NULL REFERENCES jc_acquirers (id),
    -- DE 42
    merchant_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (acquirer_id, merchant_id)
);

CREATE TABLE jc_terminals (
    id          BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT NOT NULL REFERENCES jc_merchants (id),
    -- DE 41
    terminal_id TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (merchant_id, terminal_id)
);

-- One row per transaction. Inserted when the transaction starts (CreateTranLog), completed by LogIt in
-- the same DB transaction as its GL post; declines are completed too. The UNIQUE retransmission key
-- makes a repeated request find the first one's row instead of posting again.
CREATE TABLE jc_tranlog (
    id               BIGSERIAL PRIMARY KEY,
    node_txn_id      BIGINT,
    mti              TEXT NOT NULL,
    pcode            TEXT NOT NULL DEFAULT '',
    txn_type         TEXT NOT NULL DEFAULT '',
    amount           NUMERIC,
    currency         SMALLINT,
    fee_amount       NUMERIC,
    acquirer_fee     NUMERIC,
    stan             TEXT NOT NULL DEFAULT '',
    rrn              TEXT,
    transmission     TEXT NOT NULL DEFAULT '',
    local_time       TEXT NOT NULL DEFAULT '',
    acquirer         TEXT NOT NULL DEFAULT '',
    tid              TEXT NOT NULL DEFAULT '',
    mid              TEXT,
    card_id          BIGINT REFERENCES jc_cards (id),
    -- masked (first 6 + last 4) for statements; never the full PAN
    masked_pan       TEXT,
    account          TEXT,
    account2         TEXT,
    result_code      TEXT,
    approval_code    TEXT,
    -- DE 54 as answered (balance inquiries), so a retransmission answers the same
    additional_amounts TEXT,
    extended_result  TEXT,
    gl_txn           UUID REFERENCES gl_transactions (id),
    original_id      BIGINT REFERENCES jc_tranlog (id),
    -- DE 56 as received: original MTI, STAN, local time, acquirer
    original_key     TEXT,
    completed_amount NUMERIC,
    reversed         BOOLEAN NOT NULL DEFAULT FALSE,
    voided           BOOLEAN NOT NULL DEFAULT FALSE,
    completed        BOOLEAN NOT NULL DEFAULT FALSE,
    batch            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    duration_ms      INTEGER,
    UNIQUE (acquirer, tid, stan, transmission)
);
CREATE INDEX jc_tranlog_original ON jc_tranlog (acquirer, stan, local_time);
CREATE INDEX jc_tranlog_card ON jc_tranlog (card_id, created_at);
CREATE INDEX jc_tranlog_original_key ON jc_tranlog (original_key);
