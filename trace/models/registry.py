"""The registry: organisations, their facilities, product lines and batches (lots)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Archivable, Base, Timestamped, str_enum


class OrganizationKind(enum.StrEnum):
    CENTRE = "centre"
    PRODUCER = "producer"
    COOPERATIVE = "cooperative"
    PROCESSOR = "processor"
    DISTRIBUTOR = "distributor"
    RETAILER = "retailer"
    INSPECTION_AGENCY = "inspection_agency"


class FacilityKind(enum.StrEnum):
    FARM = "farm"
    ORCHARD = "orchard"
    GROWING_AREA = "growing_area"
    PACKING_HOUSE = "packing_house"
    FACTORY = "factory"
    COLD_STORE = "cold_store"
    WAREHOUSE = "warehouse"
    SHOP = "shop"
    PLOT = "plot"


class ProductCategory(enum.StrEnum):
    FRUIT = "fruit"
    VEGETABLE = "vegetable"
    COFFEE = "coffee"
    TEA = "tea"
    RICE = "rice"
    SEAFOOD = "seafood"
    CONDIMENT = "condiment"
    PROCESSED = "processed"
    OTHER = "other"


class BatchStatus(enum.StrEnum):
    ACTIVE = "active"
    RECALLED = "recalled"
    CLOSED = "closed"


class Organization(Timestamped, Archivable, Base):
    __tablename__ = "organization"
    # The latest edit of the registry is read with every stored public page (trace.codeview.store).
    __table_args__ = (Index("ix_organization_updated_at", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, "organization_kind"))
    name: Mapped[str] = mapped_column(String(200))
    tax_code: Mapped[str] = mapped_column(String(14), unique=True)
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    search_text: Mapped[str] = mapped_column(String(600), default="")

    facilities: Mapped[list[Facility]] = relationship(back_populates="organization")


class Facility(Timestamped, Archivable, Base):
    __tablename__ = "facility"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        Index("ix_facility_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    kind: Mapped[FacilityKind] = mapped_column(str_enum(FacilityKind, "facility_kind"))
    name: Mapped[str] = mapped_column(String(200))
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5))
    latitude: Mapped[decimal.Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[decimal.Decimal | None] = mapped_column(Numeric(9, 6))
    search_text: Mapped[str] = mapped_column(String(600), default="")

    organization: Mapped[Organization] = relationship(back_populates="facilities")


class Product(Timestamped, Archivable, Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("ocop_stars BETWEEN 1 AND 5", name="ocop_stars_range"),
        Index("ix_product_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[ProductCategory] = mapped_column(str_enum(ProductCategory, "product_category"))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    ocop_stars: Mapped[int | None]
    geographical_indication: Mapped[str | None] = mapped_column(String(300))
    standards: Mapped[list[str]] = mapped_column(default=list)
    image: Mapped[str | None] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(3))
    shelf_life_days: Mapped[int | None]
    description_vi: Mapped[str | None] = mapped_column(String(2000))
    description_en: Mapped[str | None] = mapped_column(String(2000))
    #: ISO 3166-1 alpha-2 and the 2-digit province code (2025) the product comes from
    origin_country: Mapped[str] = mapped_column(String(2), default="VN", server_default="VN")
    origin_province_code: Mapped[str | None] = mapped_column(String(2))
    safety_warning_vi: Mapped[str | None] = mapped_column(String(1000))
    safety_warning_en: Mapped[str | None] = mapped_column(String(1000))
    search_text: Mapped[str] = mapped_column(String(600), default="")

    organization: Mapped[Organization] = relationship()


class Batch(Timestamped, Base):
    __tablename__ = "batch"
    __table_args__ = (
        UniqueConstraint("product_id", "lot_code"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_batch_producer_status", "producer_id", "status"),
        Index("ix_batch_search_text", "search_text"),  # the console's search box: a lot code
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    lot_code: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[decimal.Decimal]
    unit: Mapped[str] = mapped_column(String(3))
    production_date: Mapped[dt.date]
    expiry_date: Mapped[dt.date | None]
    origin_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, "batch_status"), default=BatchStatus.ACTIVE, index=True
    )
    search_text: Mapped[str] = mapped_column(String(600), default="")

    product: Mapped[Product] = relationship()
    producer: Mapped[Organization] = relationship()
    origin_facility: Mapped[Facility | None] = relationship()
