"""Bulk data for benchmarks, made with set-based SQL on PostgreSQL (minutes via the API).

``bench_database()`` creates a throw-away database and migrates it; the ``fill_*`` functions
insert registry rows, a genealogy and events whose ledger columns are filled in (the chain is
not meaningful; benchmarks that verify the ledger capture through the service instead).
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get(
    "TRACE_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def bench_database(prefix: str = "trace_bench") -> Iterator[str]:
    """A migrated PostgreSQL database, dropped afterwards; yields its URL."""
    from trace import migrate
    from trace.db import build_engine

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        engine = build_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill_registry(engine: Engine, batches: int, products: int = 100) -> None:
    """One producer, one facility, ``products`` products (half with GTINs), ``batches`` lots."""
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO organization (id, kind, name, tax_code, province_code, address,
                                      search_text, created_at, updated_at)
            VALUES (1, 'cooperative', 'Hợp tác xã Thử tải', '2400000001', '24',
                    'xã Lục Ngạn, tỉnh Bắc Ninh', 'hop tac xa thu tai', now(), now());
            INSERT INTO facility (id, organization_id, kind, name, address, province_code,
                                  search_text, created_at, updated_at)
            VALUES (1, 1, 'orchard', 'Vườn thử tải', 'xã Lục Ngạn', '24', '', now(), now());
        """)
        )
        conn.execute(
            text("""
            INSERT INTO product (id, organization_id, name_vi, name_en, category, gtin,
                                 standards, unit, search_text, created_at, updated_at)
            SELECT g, 1, 'Sản phẩm ' || g, 'Product ' || g, 'fruit',
                   CASE WHEN g % 2 = 0 THEN lpad(g::text, 14, '0') END,
                   '["VietGAP"]'::jsonb, 'KGM', 'san pham ' || g, now(), now()
            FROM generate_series(1, CAST(:products AS integer)) AS g
            """),
            {"products": products},
        )
        conn.execute(
            text("""
            INSERT INTO batch (id, product_id, producer_id, lot_code, quantity, unit,
                               production_date, origin_facility_id, status, search_text,
                               created_at, updated_at)
            SELECT g, 1 + g % :products, 1, 'L' || g, 100, 'KGM', date '2026-06-01', 1,
                   'active', 'l' || g, now(), now()
            FROM generate_series(1, CAST(:batches AS integer)) AS g
            """),
            {"batches": batches, "products": products},
        )
        for table in ("organization", "facility", "product", "batch"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


def fill_genealogy(engine: Engine, batches: int, levels: int = 10, parents: int = 2) -> None:
    """Batches in ``levels`` equal layers; each batch above the first is made from ``parents``
    batches of the layer below (a transformation event per batch)."""
    per_level = batches // levels
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO event (id, event_id, hash_id, event_type, event_time,
                               event_time_zone_offset, record_time, biz_step, document,
                               namespaces, declares_error, seq, chain_hash)
            SELECT g, 'urn:uuid:tf-' || g, 'ni:///sha-256;tf' || g || '?ver=CBV2.0',
                   'TransformationEvent', timestamptz '2026-06-01' + g * interval '1 second',
                   '+07:00', now(), 'commissioning',
                   '{"type": "TransformationEvent"}'::jsonb, '{}'::jsonb, false,
                   g, md5(g::text) || md5(g::text)
            FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
            """),
            {"first": per_level + 1, "last": batches},
        )
        conn.execute(
            text("""
            INSERT INTO batch_link (input_batch_id, output_batch_id, event_pk)
            SELECT DISTINCT
                   ((b - 1) / :per) * :per - :per + 1
                     + ((b * 7919 + p * 104729) % :per),
                   b, e.id
            FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS b
            CROSS JOIN generate_series(1, CAST(:parents AS integer)) AS p
            JOIN event e ON e.event_id = 'urn:uuid:tf-' || b
            """),
            {"per": per_level, "first": per_level + 1, "last": batches, "parents": parents},
        )
        conn.execute(text("ANALYZE"))


def fill_events(engine: Engine, events: int, batches: int, seq_offset: int = 0) -> None:
    """``events`` ObjectEvents spread evenly over the batches, each indexed under its batch."""
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO event (id, event_id, hash_id, event_type, action, event_time,
                               event_time_zone_offset, record_time, biz_step, document,
                               namespaces, declares_error, seq, chain_hash)
            SELECT :offset + g, 'urn:uuid:ev-' || g, 'ni:///sha-256;ev' || g || '?ver=CBV2.0',
                   'ObjectEvent', 'OBSERVE',
                   timestamptz '2026-06-01' + (g % 86400) * interval '1 minute', '+07:00',
                   now(), 'storing',
                   jsonb_build_object('type', 'ObjectEvent', 'action', 'OBSERVE',
                                      'eventTime', '2026-06-01T00:00:00+07:00',
                                      'eventTimeZoneOffset', '+07:00', 'bizStep', 'storing'),
                   '{}'::jsonb, false, :offset + g, md5(g::text) || md5(g::text)
            FROM generate_series(1, CAST(:events AS integer)) AS g
            """),
            {"events": events, "offset": seq_offset},
        )
        conn.execute(
            text("""
            INSERT INTO event_epc (event_pk, role, uri, batch_id, event_time)
            SELECT e.id, 'epc_class', 'trace:/lot/1/L' || (1 + e.id % :batches),
                   1 + e.id % :batches, e.event_time
            FROM event e WHERE e.event_id LIKE 'urn:uuid:ev-%'
            """),
            {"batches": batches},
        )
        conn.execute(
            text("""
            INSERT INTO ledger_head (id, seq, chain_hash, updated_at)
            VALUES (1, (SELECT max(seq) FROM event), repeat('0', 64), now())
            ON CONFLICT (id) DO UPDATE SET seq = excluded.seq
            """)
        )
        conn.execute(text("ANALYZE"))
