"""The public pages' small supply chain (:mod:`tests.public.conftest`), for the read model of a
scanned code."""

from tests.public.conftest import chain, recall, unit_code

__all__ = ["chain", "recall", "unit_code"]
