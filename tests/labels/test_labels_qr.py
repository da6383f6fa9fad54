"""The fast QR encoder against the reference ``qrcode`` library."""

from __future__ import annotations

import string

import numpy as np
import pytest
import qrcode
from qrcode import util as qr_util

from tests.seeds import rng_for, unit_code
from trace.labels import qr

EC_CONST = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def random_uris(name: str, count: int) -> list[str]:
    rng = rng_for("uris", name)
    out = []
    for i in range(count):
        kind = i % 6
        gtin = "0893" + "".join(rng.choice(string.digits) for _ in range(10))
        lot = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(8))
        if kind == 0:
            out.append(f"https://trace.example.vn/01/{gtin}/10/{lot}/21/{unit_code(rng)}")
        elif kind == 1:
            out.append(f"https://trace.example.vn/q/{unit_code(rng)}")
        elif kind == 2:
            out.append(f"https://trace.example.vn/01/{gtin}/10/{lot.lower()}%2F{i}")
        elif kind == 3:  # long: version >= 7 (version information), sometimes >= 10
            tail = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(80, 300)))
            out.append(f"https://trace.example.vn/q/{tail}")
        elif kind == 4:  # numeric and alphanumeric runs long enough to get their own segments
            digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(20, 60)))
            out.append(f"HTTPS://TRACE.EXAMPLE.VN/Q/{digits}?x=vải-thiều")
        else:
            alphabet = string.printable[:94] + "ạảấầẩẫậăắằẳẵặđ"
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))))
    return out


def reference(data: str, ec: str, version: int | None = None, mask: int | None = None):
    code = qrcode.QRCode(version=version, error_correction=EC_CONST[ec], mask_pattern=mask)
    code.add_data(data)
    code.make()
    return code, np.array(code.modules, dtype=bool)


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
def test_fixed_version_and_mask_match_qrcode(ec: str) -> None:
    rng = rng_for("fixed", ec)
    for data in random_uris(f"fixed-{ec}", 60):
        base, _ = reference(data, ec)
        version = base.version + rng.choice((0, 0, 1))
        mask = rng.randrange(8)
        _, expected = reference(data, ec, version, mask)
        got = qr.qr_matrix(data, ec, version=version, mask=mask)
        assert got.dtype == bool
        assert np.array_equal(got, expected), (data, ec, version, mask)


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
def test_automatic_version_and_mask_match_qrcode(ec: str) -> None:
    for data in random_uris(f"automatic-{ec}", 60):
        ref, expected = reference(data, ec)
        got = qr.qr_matrix(data, ec)
        assert got.shape == expected.shape, data
        assert np.array_equal(got, expected), (data, ec)
        assert qr.qr_version(data, ec) == ref.version


def test_chosen_mask_has_the_lowest_penalty() -> None:
    for data in random_uris("mask", 40):
        ref, _ = reference(data, "M")
        got = qr.qr_matrix(data, "M")
        chosen = [
            m
            for m in range(8)
            if np.array_equal(got, qr.qr_matrix(data, "M", version=ref.version, mask=m))
        ]
        assert len(chosen) == 1
        penalties = []
        for m in range(8):
            ref.makeImpl(True, m)  # qrcode's own candidate symbol and ISO 18004 scoring
            penalties.append(qr_util.lost_point(ref.modules))
        assert chosen[0] == penalties.index(min(penalties)), (data, penalties)


def test_codewords_match_qrcode() -> None:
    for data in random_uris("codewords", 60):
        for ec in "LMQH":
            ref, _ = reference(data, ec)
            expected = qr_util.create_data(ref.version, EC_CONST[ec], ref.data_list)
            assert list(qr.encode_codewords(data, ec, ref.version)) == expected


def test_packed_penalty_equals_plain_penalty() -> None:
    rng = np.random.default_rng(rng_for("penalty").getrandbits(64))
    for n in (21, 33, 37, 57, 61):
        for _ in range(30):
            cands = rng.random((8, n, n)) < rng.uniform(0.2, 0.8)
            cands[:, 3, 5:16] = np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
            cands[:, 9:20, 2] = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
            assert qr._penalties(cands) == qr._penalties_packed(cands)


def test_typical_label_uris_fit_version_5_at_m(rng) -> None:
    for _ in range(50):
        code = unit_code(rng)
        assert (
            qr.qr_version(f"https://trace.example.vn/01/08935049510011/10/LNB2406A/21/{code}") <= 5
        )
        assert qr.qr_version(f"https://trace.example.vn/q/{code}") <= 5


def test_errors() -> None:
    long = "x" * 200
    with pytest.raises(qr.QRError):
        qr.qr_matrix(long, version=2)
    with pytest.raises(qr.QRError):
        qr.qr_matrix("abc", "X")
    with pytest.raises(qr.QRError):
        qr.qr_matrix("abc", mask=8)
    with pytest.raises(qr.QRError):
        qr.qr_matrix("x" * 3000, "H")
    assert issubclass(qr.QRError, ValueError)
