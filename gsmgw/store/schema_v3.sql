-- gsmgw store, schema version 3: received PDUs that could not be decoded, kept raw.
-- SPEC.md "Guarantees": a malformed PDU is logged, kept raw and skipped. It is stored here (and
-- its errors event queued) in one transaction before its SIM location is freed, so a strict
-- decoder or a buggy sender costs a message nobody can read yet, never one nobody can find.

CREATE TABLE inbox_undecodable (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    modem TEXT NOT NULL,
    digest BLOB NOT NULL,              -- SHA-256 of the raw PDU: the same PDU again is a duplicate
    raw BLOB NOT NULL,                 -- as the modem gave it: SMSC field + TPDU
    error TEXT NOT NULL,               -- why the decoder refused it
    stored_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX inbox_undecodable_digest ON inbox_undecodable (modem, digest);
