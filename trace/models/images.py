"""Product images kept in the database, so every node serves what any node received.

One row per product, version and width: the re-encoded upload (``width`` 0) and its resized
copies for the public page, all made when the image is uploaded. ``Product.image`` names the
version in use (``stored:<version>``); older versions stay for the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base, utcnow


class ProductImage(Base):
    __tablename__ = "product_image"

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    #: 0: the re-encoded upload; otherwise the width it was resized to
    width: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
