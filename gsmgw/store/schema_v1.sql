-- gsmgw store, schema version 1.
-- Times are integer milliseconds since the Unix epoch (UTC), except the network's own timestamps
-- of inbound SMS, kept as ISO 8601 text with the zone the SMSC gave.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
-- The next concatenation reference (TS 23.040 §9.2.3.24.1), handed out at a message's first claim.
INSERT INTO meta (key, value) VALUES ('concat_ref', 0);

-- The modem ids / group names a message may use, joined with ','; '' (pk 0) means any modem.
CREATE TABLE route (
    pk INTEGER PRIMARY KEY,
    names TEXT NOT NULL UNIQUE
);
INSERT INTO route (pk, names) VALUES (0, '');

CREATE TABLE outbox (
    pk INTEGER PRIMARY KEY,            -- insertion order: "then oldest"
    id TEXT NOT NULL UNIQUE,           -- the client's idempotency key, or one the node made
    destination TEXT NOT NULL,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    lane INTEGER,                      -- 1: ready to claim; 0: waits for due_at; NULL: not claimable
    priority INTEGER NOT NULL,
    route INTEGER NOT NULL REFERENCES route (pk),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    send_at INTEGER,
    due_at INTEGER NOT NULL,           -- max(send_at, next attempt): when lane 0 becomes 1
    expires_at INTEGER,                -- created_at + valid_for
    report INTEGER NOT NULL,
    flash INTEGER NOT NULL,
    encoding TEXT,
    marketing INTEGER NOT NULL,
    reply_to TEXT,
    modem TEXT,                        -- the modem of the latest attempt
    attempts INTEGER NOT NULL DEFAULT 0,
    concat_ref INTEGER,
    error TEXT,
    outcome_unknown INTEGER NOT NULL DEFAULT 0
);
-- claim: the best ready message of one route in one index seek, however long the backlog.
CREATE INDEX outbox_ready ON outbox (route, priority DESC) WHERE lane = 1;
CREATE INDEX outbox_waiting ON outbox (due_at) WHERE lane = 0;
CREATE INDEX outbox_expiry ON outbox (expires_at) WHERE lane IS NOT NULL AND expires_at IS NOT NULL;
CREATE INDEX outbox_destination ON outbox (destination, created_at);
CREATE INDEX outbox_state ON outbox (state, pk);

CREATE TABLE outbox_part (
    message INTEGER NOT NULL REFERENCES outbox (pk),
    part_no INTEGER NOT NULL,          -- from 1
    pdu TEXT NOT NULL,                 -- hex: SMSC field + TPDU, what follows AT+CMGS=<length>
    tpdu_length INTEGER NOT NULL,
    state TEXT NOT NULL,               -- pending, sending (PDU maybe written), sent, delivered, failed
    modem TEXT,
    reference INTEGER,                 -- TP-MR from +CMGS
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome_unknown INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    status INTEGER,                    -- TP-ST of the latest status report
    reported_at INTEGER,
    PRIMARY KEY (message, part_no)
) WITHOUT ROWID;
-- status reports: the latest part of (modem, TP-MR) still waiting for its report.
CREATE INDEX outbox_part_awaiting ON outbox_part (modem, reference, sent_at) WHERE state = 'sent';
-- per_minute / per_day: parts a SIM sent in a window.
CREATE INDEX outbox_part_sent ON outbox_part (modem, sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE inbox (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    modem TEXT NOT NULL,
    sender TEXT NOT NULL,
    text TEXT,
    data BLOB,                         -- 8-bit data messages carry data instead of text
    encoding TEXT NOT NULL,
    smsc TEXT,
    received_at TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    incomplete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbox_sender ON inbox (sender, pk);
CREATE INDEX inbox_modem ON inbox (modem, pk);

CREATE TABLE inbox_part (
    pk INTEGER PRIMARY KEY,
    modem TEXT NOT NULL,
    digest BLOB NOT NULL,              -- SHA-256 of the raw PDU: a network duplicate has the same
    sender TEXT NOT NULL,
    concat_ref INTEGER,
    part_no INTEGER,
    total INTEGER,
    text TEXT,
    data BLOB,
    encoding TEXT NOT NULL,
    smsc TEXT,
    received_at TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    raw BLOB NOT NULL,
    message INTEGER REFERENCES inbox (pk)  -- NULL while its set is incomplete
);
CREATE UNIQUE INDEX inbox_part_digest ON inbox_part (modem, digest);
CREATE UNIQUE INDEX inbox_part_set ON inbox_part (modem, sender, concat_ref, total, part_no)
    WHERE message IS NULL;
CREATE INDEX inbox_part_waiting ON inbox_part (stored_at) WHERE message IS NULL;
CREATE INDEX inbox_part_message ON inbox_part (message);

-- MQTT publications waiting for the broker's acknowledgement, written in the same transaction as
-- the change they announce.
CREATE TABLE publication (
    pk INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE opt_out (
    number TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL,
    source TEXT NOT NULL               -- "keyword", "cli", ...
) WITHOUT ROWID;
