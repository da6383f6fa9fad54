"""Typed SQLAlchemy 2 models, one module per aggregate; importing this registers them all."""

from trace.models.accounts import LinkPurpose, OneTimeLink, SignInThrottle, User, UserSession
from trace.models.auth import ApiToken, AuditEntry, Role
from trace.models.base import MAX_ID, Base
from trace.models.dashboard import (
    FlaggedCode,
    ProvinceFigures,
    ProvinceScanDay,
    ProvinceScanPlace,
)
from trace.models.events import BatchLink, Event, EventEpc, LedgerHead
from trace.models.images import ProductImage
from trace.models.imports import Import, ImportStatus
from trace.models.jobs import Job, JobStatus
from trace.models.labels import Code, CodeKind, CodeStatus, PrintRun
from trace.models.passport import Certificate, CertificateKind
from trace.models.plots import Plot, PlotGeometry
from trace.models.portal import PortalKind, PortalRecord, PortalStatus
from trace.models.public import (
    BatchCheck,
    BatchFreshness,
    EventChunkCheck,
    PublicChange,
    Report,
    Scan,
    ScanClient,
    StoredPage,
)
from trace.models.recalls import LedgerCheckpoint, Recall, RecallBatch
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
    "MAX_ID",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Batch",
    "BatchCheck",
    "BatchFreshness",
    "BatchLink",
    "BatchStatus",
    "Certificate",
    "CertificateKind",
    "Code",
    "CodeKind",
    "CodeStatus",
    "Event",
    "EventChunkCheck",
    "EventEpc",
    "Facility",
    "FacilityKind",
    "FlaggedCode",
    "Import",
    "ImportStatus",
    "Job",
    "JobStatus",
    "LedgerCheckpoint",
    "LedgerHead",
    "LinkPurpose",
    "OneTimeLink",
    "Organization",
    "OrganizationKind",
    "Plot",
    "PlotGeometry",
    "PortalKind",
    "PortalRecord",
    "PortalStatus",
    "PrintRun",
    "Product",
    "ProductCategory",
    "ProductImage",
    "ProvinceFigures",
    "ProvinceScanDay",
    "ProvinceScanPlace",
    "PublicChange",
    "Recall",
    "RecallBatch",
    "Report",
    "Role",
    "Scan",
    "ScanClient",
    "SignInThrottle",
    "StoredPage",
    "User",
    "UserSession",
]
