-- gsmgw store, schema version 4: Kannel's delivery-report callbacks and the HTTP deliveries.
-- SPEC.md "HTTP API": /cgi-bin/sendsms stores dlr-mask and dlr-url with the message; webhook
-- events and dlr-url callbacks are stored in the transaction that produces them, so a receiver
-- that is down, or a restart, loses none.

ALTER TABLE outbox ADD COLUMN dlr_mask INTEGER;    -- Kannel's bits: 1 delivered, 2 failed, 4 queued, 8 sent, 16 refused
ALTER TABLE outbox ADD COLUMN dlr_url TEXT;        -- with %d %p %A %T %F still to expand

-- One row per event and consumer (a webhook's URL, or 'dlr' for every dlr-url callback),
-- deleted once delivered or given up; pk is the order each consumer delivers in.
CREATE TABLE delivery (
    pk INTEGER PRIMARY KEY,
    consumer TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,           -- X-Gsmgw-Delivery: the same on every retry
    event TEXT NOT NULL,               -- inbox, state or dlr
    url TEXT,                          -- dlr: the expanded URL; webhooks: NULL (the config's)
    body BLOB,                         -- webhooks: the JSON body
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,           -- not before: the backoff after a failed attempt
    last_error TEXT
);
CREATE INDEX delivery_consumer ON delivery (consumer, pk);
