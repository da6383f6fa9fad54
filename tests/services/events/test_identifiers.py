"""Resolving the identifiers a capture names, however many."""

from __future__ import annotations

from trace.services.events.identifiers import resolve


def test_ten_thousand_lots_resolve_in_chunks(session, build) -> None:
    # One tuple IN of 10,000 pairs ran PostgreSQL out of stack ("stack depth limit exceeded"):
    # a 100,000-row import names that many batches in one capture.
    org = build.organization()
    product = build.product(org)
    batch = build.batch(product, lot_code="L9999")
    uris = {f"trace:/lot/{product.id}/L{i}" for i in range(10_000)}
    uris |= {f"https://id.gs1.org/01/08934567890120/10/X{i}" for i in range(10_000)}
    found = resolve(session, uris)
    assert {uri: r.batch_id for uri, r in found.items()} == {
        f"trace:/lot/{product.id}/L9999": batch.id
    }
