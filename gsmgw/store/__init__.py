"""The durable store: outbox, inbox, parts, reports and the publication queue, on SQLite."""
