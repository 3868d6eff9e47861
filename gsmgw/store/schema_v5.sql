-- gsmgw store, schema version 5: the SMPP server's durable state (SPEC.md "SMPP server").

-- Which system_id submitted which outbound message, and how: query_sm and cancel_sm work only on
-- a user's own ids, and a receipt goes back to the addresses the ESME used, swapped. Written in
-- the transaction that queues the message, before its submit_sm_resp.
CREATE TABLE smpp_message (
    message_id TEXT PRIMARY KEY,       -- outbox.id
    system_id TEXT NOT NULL,
    receipt INTEGER NOT NULL,          -- registered_delivery bits 0-1: 0 none, 1 final, 2 failure
    source_ton INTEGER NOT NULL,
    source_npi INTEGER NOT NULL,
    source_addr TEXT NOT NULL,
    dest_ton INTEGER NOT NULL,
    dest_npi INTEGER NOT NULL,
    dest_addr TEXT NOT NULL
) WITHOUT ROWID;

-- Parts of a concatenated submission (UDH or sar_*) waiting for the rest of their set; each is
-- committed before its submit_sm_resp, and the set becomes one outbox message when complete.
CREATE TABLE smpp_part (
    pk INTEGER PRIMARY KEY,
    system_id TEXT NOT NULL,
    set_key TEXT NOT NULL,             -- source, destination, reference and total of the set
    total INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,          -- the same for every part of a set
    text TEXT NOT NULL,
    request TEXT NOT NULL,             -- JSON: the part's destination, priority, times, origin
    stored_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX smpp_part_set ON smpp_part (system_id, set_key, seq);
CREATE INDEX smpp_part_waiting ON smpp_part (stored_at);

-- deliver_sm waiting for a deliver_sm_resp with status 0: receipts and MO SMS per system_id,
-- written in the transaction of the state change or inbound message they announce.
CREATE TABLE smpp_delivery (
    pk INTEGER PRIMARY KEY,
    system_id TEXT NOT NULL,
    pdu BLOB NOT NULL,                 -- the encoded deliver_sm; the bridge sets the sequence
    created_at INTEGER NOT NULL
);
CREATE INDEX smpp_delivery_user ON smpp_delivery (system_id, pk);
