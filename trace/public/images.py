"""Product images, served resized (no external assets).

``Product.image`` names either an image uploaded in the console, stored in the database with
its resized copies (``stored:<version>``, :mod:`trace.services.registry.images`: every node
serves it, whichever received it), or a file in ``PRODUCT_IMAGE_DIR`` (default:
``<instance>/product-images``, a shared folder when there are several nodes). A file is served
as a JPEG at most :data:`WIDTHS` wide; its resized copies are kept next to the originals
(``.resized/``), so every process shares them. A missing or unusable image, or a URL (we fetch
nothing from elsewhere), gets the placeholder drawing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from flask import Response, abort, current_app, request
from PIL import Image, UnidentifiedImageError

from trace.db import db
from trace.models import Product
from trace.services.registry import images as stored

WIDTHS = stored.WIDTHS
PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 90" role="img">'
    '<rect width="120" height="90" fill="#e8f1ea"/>'
    '<path d="M60 20c16 6 24 18 22 34-14 2-28-4-34-16 2-8 6-14 12-18z" fill="#2f7d4f"/>'
    '<path d="M60 70V40" stroke="#1f5535" stroke-width="3" fill="none"/></svg>'
)


def local_image_name(image: str | None) -> str | None:
    if not image or "://" in image or image.startswith("//"):
        return None
    return image


def image_dir() -> Path:
    configured = current_app.config.get("PRODUCT_IMAGE_DIR")
    return Path(configured or Path(current_app.instance_path) / "product-images")


def _placeholder() -> Response:
    response = Response(PLACEHOLDER, mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def _resized(source: Path, width: int) -> bytes:
    folder = source.parent / ".resized"
    target = folder / f"{source.stem}-{width}.jpg"
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target.read_bytes()
    with Image.open(source) as original:
        image = original.convert("RGB")
        image.thumbnail((width, width * 2))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80, optimize=True, progressive=True)
    data = buffer.getvalue()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{target.name}.{os.getpid()}"
    partial.write_bytes(data)
    partial.replace(target)  # atomic: other processes see the whole file or none
    return data


def _stored(product_id: int, version: int, width: int) -> Response:
    etag = f"{product_id}-{width}-v{version}"
    if request.if_none_match.contains(etag):  # a version never changes: 304 without its bytes
        return _jpeg(b"", etag)
    data = stored.read(db.session, product_id, version, width)
    if data is None:
        return _placeholder()
    return _jpeg(data, etag)


def product_image(product_id: int, width: int) -> Response:
    if width not in WIDTHS:
        abort(404)
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    version = stored.stored_version(product.image)
    if version is not None:
        return _stored(product_id, version, width)
    name = local_image_name(product.image)
    if name is None:
        return _placeholder()
    root = image_dir().resolve()
    source = (root / name).resolve()
    if root not in source.parents or not source.is_file():
        return _placeholder()
    try:
        data = _resized(source, width)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return _placeholder()
    return _jpeg(data, f"{product_id}-{width}-{int(source.stat().st_mtime)}")


def _jpeg(data: bytes, etag: str) -> Response:
    """A resized image, cached by browsers and proxies for a day, answered 304 when unchanged."""
    response = Response(data, mimetype="image/jpeg")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    response.set_etag(etag)
    response.make_conditional(request)
    return response
