"""The product image: uploaded on the product's form, checked to be a JPEG or PNG by decoding
it (never by its name or declared type), refused above 5 MB or 8000 pixels a side before it is
decoded, re-encoded without its metadata (turned upright first), stored in the database with
its resized copies, and served by the public image URL from any node. A bad upload is an error
next to the field and writes nothing."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.console.registry_world import jpeg, png, post
from trace import create_app
from trace.models import AuditEntry, Code, Product, ProductImage
from trace.services.registry import images as stored_images

FORM = {"name_vi": "Vải thiều Lục Ngạn", "category": "fruit", "unit": "KGM"}


@pytest.fixture
def centre(build: Any, make_user: Any, signed_in: Any) -> Any:
    return signed_in(make_user("centre", build.organization(kind="centre", name="Trung tâm")))


def upload(data: bytes, name: str = "anh.jpg", mimetype: str = "image/jpeg") -> Any:
    return (io.BytesIO(data), name, mimetype)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of ``side``×``side`` black pixels: a few tens of KB that would take
    ``side``² bytes once decoded."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def six_megabytes() -> bytes:
    """A real PNG image of noise, larger than 5 MB."""
    side = 1500
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=0)
    assert buffer.tell() > 6 * 1024 * 1024
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"  # noqa: E501

BAD = {
    "text": (lambda: b"this is not a picture at all", "Tệp này không phải ảnh JPEG hoặc PNG."),
    "pdf renamed .jpg": (lambda: PDF, "Tệp này không phải ảnh JPEG hoặc PNG."),
    "6 MB": (six_megabytes, "Ảnh lớn hơn 5 MB."),
    "20000×20000 PNG bomb": (
        png_bomb,
        "Ảnh có quá nhiều điểm ảnh: mỗi cạnh tối đa 8000 điểm, tổng cộng tối đa 40 megapixel.",
    ),
    "truncated JPEG": (lambda: jpeg()[:1500], "Ảnh bị hỏng hoặc không đầy đủ."),
    "GIF": (lambda: _gif(), "Tệp này không phải ảnh JPEG hoặc PNG."),
}


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buffer, format="GIF")
    return buffer.getvalue()


def _counts(session: Any) -> tuple[int, int, int]:
    session.rollback()
    return (
        int(session.scalar(select(func.count()).select_from(Product))),
        int(session.scalar(select(func.count()).select_from(ProductImage))),
        int(session.scalar(select(func.count()).select_from(AuditEntry))),
    )


def _image_error(response: Any) -> str:
    found = re.search(r'<p class="error" id="e-image">([^<]+)</p>', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[-2000:]
    return found.group(1)


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_upload_is_refused_next_to_the_field_and_nothing_is_written(
    centre: Any, build: Any, session: Any, kind: str
) -> None:
    make, message = BAD[kind]
    org = build.organization(province_code="24")
    existing = build.product(org, name_vi="Sản phẩm có sẵn")
    before = _counts(session)
    created = post(
        centre, f"/console/organisations/{org.id}/products/new", {**FORM, "image": upload(make())}
    )
    assert created.status_code == 422
    assert _image_error(created) == message
    assert 'value="Vải thiều Lục Ngạn"' in created.get_data(as_text=True)  # typed text kept
    edited = post(
        centre,
        f"/console/products/{existing.id}/edit",
        {**FORM, "name_vi": "Tên mới", "image": upload(make(), "x.png", "image/png")},
    )
    assert edited.status_code == 422 and _image_error(edited) == message
    assert _counts(session) == before
    assert session.get(Product, existing.id).name_vi == "Sản phẩm có sẵn"


def test_a_form_error_and_an_image_error_are_both_shown(
    centre: Any, build: Any, session: Any
) -> None:
    org = build.organization(province_code="24")
    before = _counts(session)
    response = post(
        centre,
        f"/console/organisations/{org.id}/products/new",
        {**FORM, "gtin": "123", "image": upload(PDF)},
    )
    assert response.status_code == 422
    assert 'id="e-gtin"' in response.get_data(as_text=True) and _image_error(response)
    assert _counts(session) == before


def _exif_jpeg() -> bytes:
    """400×200 pixels, left half red, with EXIF saying "turn 90° clockwise to show" and naming
    the camera and place."""
    image = Image.new("RGB", (400, 200), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° CW
    exif[0x010F] = "SecretCam"  # make
    exif[0x8825] = {1: "N", 2: (21.0, 23.0, 14.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def _stored(session: Any, product_id: int, width: int) -> bytes:
    session.rollback()
    return session.scalars(
        select(ProductImage.data)
        .where(ProductImage.product_id == product_id, ProductImage.width == width)
        .order_by(ProductImage.version.desc())
    ).first()


def test_an_upload_is_reencoded_upright_without_its_metadata(
    centre: Any, build: Any, session: Any, client: Any
) -> None:
    org = build.organization(province_code="24")
    response = post(
        centre,
        f"/console/organisations/{org.id}/products/new",
        {**FORM, "image": upload(_exif_jpeg())},
    )
    assert response.status_code == 303
    product = session.scalars(select(Product).where(Product.organization_id == org.id)).one()
    assert product.image == "stored:1"
    original = _stored(session, product.id, 0)
    assert b"SecretCam" not in original
    with Image.open(io.BytesIO(original)) as image:
        assert image.format == "JPEG" and image.size == (200, 400)  # turned upright
        assert not image.getexif() and "exif" not in image.info
        top = image.convert("RGB").getpixel((100, 50))
        assert top[0] > 200 and top[2] < 60  # the red half is now on top
    served = client.get(f"/img/product/{product.id}/320.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "JPEG" and image.size == (200, 400)
    # a browser's copy of this version: 304, answered without reading the image's bytes
    with patch.object(stored_images, "read", side_effect=AssertionError("bytes read")):
        again = client.get(served.request.path, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == served.headers["ETag"]
    with Image.open(io.BytesIO(_stored(session, product.id, 640))) as image:
        assert image.size == (200, 400)  # never enlarged


def test_a_png_with_transparency_becomes_a_jpeg(centre: Any, build: Any, session: Any) -> None:
    org = build.organization(province_code="24")
    response = post(
        centre,
        f"/console/organisations/{org.id}/products/new",
        {**FORM, "image": upload(png((1000, 3000)), "logo.png", "image/png")},
    )
    assert response.status_code == 303
    product_id = session.scalar(select(Product.id).where(Product.organization_id == org.id))
    with Image.open(io.BytesIO(_stored(session, product_id, 0))) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert max(image.size) == 1600  # stored at most 1600 a side
    with Image.open(io.BytesIO(_stored(session, product_id, 320))) as image:
        assert image.size == (213, 640)  # as a file image: at most 320 wide, 640 high


@pytest.mark.committed  # the public page reads on connections of its own (PostgreSQL)
def test_a_new_image_gives_the_public_page_a_new_url_and_freshness(
    centre: Any, build: Any, session: Any, client: Any
) -> None:
    org = build.organization(province_code="24")
    product = build.product(org)
    batch = build.batch(product)
    code = session.scalar(select(Code.code).where(Code.batch_id == batch.id))
    first = client.get(f"/q/{code}")
    assert "/img/product/" not in first.get_data(as_text=True)  # no image yet: the drawing
    for version, colour in ((1, (250, 0, 0)), (2, (0, 0, 250))):
        response = post(
            centre,
            f"/console/products/{product.id}/edit",
            {**FORM, "image": upload(jpeg(colour=colour))},
        )
        assert response.status_code == 303
        page = client.get(f"/q/{code}")
        assert f"/img/product/{product.id}/320.jpg?v={version}" in page.get_data(as_text=True)
        assert page.headers["ETag"] != first.headers["ETag"]
        first = page
        served = client.get(f"/img/product/{product.id}/320.jpg?v={version}")
        pixel = Image.open(io.BytesIO(served.data)).convert("RGB").getpixel((10, 10))
        assert abs(pixel[0] - colour[0]) < 30 and abs(pixel[2] - colour[2]) < 30
        assert served.headers["ETag"] == f'"{product.id}-320-v{version}"'
    session.rollback()
    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "product", AuditEntry.entity_id == str(product.id)
        )
    ).all()
    assert actions.count("update") == 2  # one audited change per upload
    # the edit form shows the current image
    form = centre.get(f"/console/products/{product.id}/edit").get_data(as_text=True)
    assert f"/img/product/{product.id}/320.jpg?v=2" in form


def test_a_stored_version_that_is_missing_gets_the_drawing(
    build: Any, client: Any, session: Any
) -> None:
    product = build.product(build.organization(), image="stored:7")
    response = client.get(f"/img/product/{product.id}/320.jpg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


@pytest.mark.committed  # a second app ("node") reads what the first one stored
def test_a_node_that_never_saw_the_upload_serves_it(
    app: Any,
    database_url: str,
    build: Any,
    make_user: Any,
    signed_in: Any,
    session: Any,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "images-of-node-1"
    folder.mkdir()
    app.config["PRODUCT_IMAGE_DIR"] = str(folder)
    try:
        centre = signed_in(make_user("centre", build.organization(kind="centre")))
        org = build.organization(province_code="24")
        response = post(
            centre,
            f"/console/organisations/{org.id}/products/new",
            {**FORM, "image": upload(jpeg((900, 900), (10, 200, 10)))},
        )
        assert response.status_code == 303
    finally:
        app.config["PRODUCT_IMAGE_DIR"] = None
    assert list(folder.iterdir()) == []  # nothing on this node's disk
    product_id = session.scalar(select(Product.id).where(Product.organization_id == org.id))
    other = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "PRODUCT_IMAGE_DIR": str(tmp_path / "images-of-node-2"),
        }
    )
    other.instance_path = str(tmp_path / "instance-of-node-2")
    try:
        served = other.test_client().get(f"/img/product/{product_id}/640.jpg")
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(served.data)) as image:
            assert image.size == (640, 640)
            assert image.convert("RGB").getpixel((320, 320))[1] > 150
    finally:
        from trace.db import db

        db.engine_for(other).dispose()
