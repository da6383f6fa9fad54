"""Supply-chain events: EPCIS capture, the hash-chained ledger, queries, histories, genealogy,
the producers' stage form and the identifiers that tie events to batches and places."""
