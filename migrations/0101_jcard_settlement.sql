-- jCard tranlog: repeats and settlement (docs/jcard.md).

-- A repeat (MTI origin digit 1/3/5) usually carries a new DE 7 but the same STAN and DE 12 as the
-- message it repeats: the same terminal, STAN, local time and (repeat-folded) MTI is the same
-- transaction, whichever of the two arrives first. Rows without DE 12 keep only the DE 7 key.
CREATE UNIQUE INDEX jc_tranlog_repeat ON jc_tranlog (acquirer, tid, stan, local_time, mti)
    WHERE local_time <> '';

-- The settlement (540) row that closed the batch this row was counted in; NULL = not yet settled.
ALTER TABLE jc_tranlog ADD COLUMN settlement_id BIGINT REFERENCES jc_tranlog (id);
CREATE INDEX jc_tranlog_unsettled ON jc_tranlog (acquirer, tid, id) WHERE settlement_id IS NULL;
