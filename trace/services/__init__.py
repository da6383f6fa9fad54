"""The domain logic, grouped by domain as pypa/warehouse groups its own.

A small core at the top (``actors``, ``errors``, ``audit``, ``pagination``) that every domain
uses; ``events`` (capture, the ledger, queries, history, genealogy, the stage form, identifiers),
``inspection`` (recalls, audit reports, exports, signals, signed checkpoints), ``registry``
(organisations, facilities, products, batches, API tokens) and ``labels`` (code issuance, print
runs and their render job). ``lookup`` and ``scans`` serve the public page. Services flush and
never commit: the request or the command that called them does.
"""
