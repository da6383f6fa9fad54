"""Shared by the registry pages' tests: images to upload, and posting a console form."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from PIL import Image

from tests.console.conftest import csrf_of


def jpeg(
    size: tuple[int, int] = (800, 600), colour: tuple[int, int, int] = (200, 40, 40), **save: Any
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def png(size: tuple[int, int] = (600, 400)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (30, 120, 60, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def post(client: FlaskClient, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    """POST ``data`` with the CSRF token of ``page`` (default: the console's home)."""
    token = csrf_of(client.get(page or "/console/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, content_type=None)
