"""Product images: an upload checked to be a JPEG or PNG by decoding it (never by its name or
declared type), refused above the size and pixel limits before it is decoded, re-encoded as a
JPEG without its metadata (turned upright first, as its EXIF orientation says) and stored in
the database with its resized copies, so any node serves it.

:func:`prepare` does the work on bytes and writes nothing; :func:`save_product` writes a
product with a prepared image as its next version, under the registry's write rule."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace.models import Product, ProductImage
from trace.services.actors import Actor
from trace.services.errors import FieldError, InvalidInput
from trace.services.registry import catalogue

MAX_BYTES = 5 * 1024 * 1024
#: the longest side and the pixel count an upload may have (checked from its header)
MAX_SIDE = 8000
MAX_PIXELS = 40_000_000
#: the stored upload is at most this wide/high; the public page's widths are made at upload
STORED_SIDE = 1600
WIDTHS = (320, 640)
FORMATS = frozenset({"JPEG", "PNG"})
PREFIX = "stored:"


class ImageRejected(InvalidInput):
    """``reason``: too_large, not_image, too_many_pixels, damaged."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, errors=[FieldError("/image", detail)])
        self.reason = reason


@dataclass(frozen=True)
class PreparedImage:
    original: bytes
    resized: dict[int, bytes]
    width: int
    height: int


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, optimize=True, progressive=True)
    return buffer.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    """Transparent parts on white, everything in RGB (what a JPEG holds)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def prepare(data: bytes) -> PreparedImage:
    """Check and re-encode an upload; :class:`ImageRejected` says why it is refused."""
    if len(data) > MAX_BYTES:
        raise ImageRejected("too_large", "the image is larger than 5 MB")
    if not data:
        raise ImageRejected("not_image", "the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as opened:
                width, height = opened.size
                if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                    raise ImageRejected(
                        "too_many_pixels",
                        f"the image is {width}×{height} pixels; at most {MAX_SIDE} on a side",
                    )
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                image = _rgb(upright)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageRejected("too_many_pixels", "the image has too many pixels") from error
        except Image.UnidentifiedImageError as error:
            raise ImageRejected("not_image", "the file is not a JPEG or PNG image") from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageRejected("damaged", "the image is damaged or incomplete") from error
    image.thumbnail((STORED_SIDE, STORED_SIDE))
    resized = {}
    for target in WIDTHS:
        copy = image.copy()
        copy.thumbnail((target, target * 2))
        resized[target] = _jpeg(copy)
    return PreparedImage(_jpeg(image), resized, image.width, image.height)


def stored_version(image: str | None) -> int | None:
    """The stored version ``Product.image`` names, if it names one."""
    if image and image.startswith(PREFIX) and image[len(PREFIX) :].isdigit():
        return int(image[len(PREFIX) :])
    return None


def _next_version(session: Session, product_id: int) -> int:
    """The product's next image version, its row locked first (PostgreSQL) so that two
    uploads at once get two versions."""
    session.execute(select(Product.id).where(Product.id == product_id).with_for_update())
    latest = session.scalar(
        select(func.max(ProductImage.version)).where(ProductImage.product_id == product_id)
    )
    return (latest or 0) + 1


def _store(session: Session, product_id: int, version: int, prepared: PreparedImage) -> None:
    copies = {0: prepared.original, **prepared.resized}
    for width, data in copies.items():
        session.add(
            ProductImage(
                product_id=product_id,
                version=version,
                width=width,
                data=data,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    session.flush()


def read(session: Session, product_id: int, version: int, width: int) -> bytes | None:
    return session.scalar(
        select(ProductImage.data).where(
            ProductImage.product_id == product_id,
            ProductImage.version == version,
            ProductImage.width == width,
        )
    )


def save_product(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    prepared: PreparedImage | None,
    product_id: int | None = None,
) -> Product:
    """Register (``product_id`` None) or change a product, with its new image if one came: one
    audited change under the registry's write rule; a new image is a new ``Product.image``, so
    the product's public pages get a new freshness and the image a new URL."""
    changes = dict(data)
    version = 1 if product_id is None else _next_version(session, product_id)
    if prepared is not None:
        changes["image"] = f"{PREFIX}{version}"
    if product_id is None:
        product = catalogue.create_product(session, actor, changes)
    else:
        product = catalogue.update_product(session, actor, product_id, changes)
    if prepared is not None:
        _store(session, product.id, version, prepared)
    return product
