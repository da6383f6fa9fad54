"""Typed SQLAlchemy 2 models, one module per aggregate; importing this registers them all."""

from trace.models.auth import ApiToken, AuditEntry, Role
from trace.models.base import Base
from trace.models.registry import (
    Batch,
    BatchStatus,
    Facility,
    FacilityKind,
    Organization,
    OrganizationKind,
    Product,
    ProductCategory,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Batch",
    "BatchStatus",
    "Facility",
    "FacilityKind",
    "Organization",
    "OrganizationKind",
    "Product",
    "ProductCategory",
    "Role",
]
