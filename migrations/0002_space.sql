-- Durable spaces (`pg:NAME`): FIFO lists of JSON values per (space, key), shared by switch nodes.
-- `out` appends with pos = nextval, `push` prepends with pos = -nextval; takes are
-- DELETE ... WHERE id = (SELECT ... ORDER BY pos LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING value,
-- and writers NOTIFY channel switchyard_space with payload "space<US>key" to wake waiting readers.
CREATE SEQUENCE space_pos;

CREATE TABLE space_entries (
    id         BIGSERIAL PRIMARY KEY,
    space      TEXT NOT NULL,
    key        TEXT NOT NULL,
    pos        BIGINT NOT NULL,
    value      JSONB NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE INDEX space_entries_key_pos ON space_entries (space, key, pos);
