-- gsmgw store, schema version 2: retention ([gateway] keep_days, gsmgw/store/retention.py).
-- The file's auto_vacuum mode (INCREMENTAL) cannot change inside a migration's transaction:
-- schema.use_incremental_vacuum sets it at open.

-- Finished outbound messages by when they finished: the oldest first, in one index range.
CREATE INDEX outbox_finished ON outbox (updated_at)
    WHERE state IN ('sent', 'delivered', 'failed', 'expired', 'cancelled');
-- Inbound messages by when they were stored.
CREATE INDEX inbox_stored ON inbox (stored_at);
