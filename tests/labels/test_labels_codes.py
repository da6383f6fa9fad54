"""Unit codes: format, check character, normalisation."""

from __future__ import annotations

import pytest

from tests.seeds import unit_code
from trace.labels.codes import (
    CHECK_ALPHABET,
    CODE_DATA_LENGTH,
    CROCKFORD_ALPHABET,
    CodeError,
    check_char,
    is_valid_code,
    new_unit_code,
    normalize_code,
)


def test_new_codes_have_the_documented_format() -> None:
    codes = [new_unit_code() for _ in range(5000)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) == CODE_DATA_LENGTH + 1
        assert set(code[:-1]) <= set(CROCKFORD_ALPHABET)
        # issued check characters stay URL-, GS1 CSet 82- and QR-alphanumeric-safe
        assert code[-1] in CROCKFORD_ALPHABET + "U"
        assert code == code.upper()
        assert is_valid_code(code)
        assert normalize_code(code) == code


def test_codes_carry_at_least_64_random_bits() -> None:
    # 13 base32 characters = 65 bits; the first character must take all 32 values over time.
    firsts = {new_unit_code()[0] for _ in range(3000)}
    assert len(firsts) == 32


@pytest.mark.parametrize(
    ("data", "check"),
    [
        ("0000000000000", "0"),
        ("0000000000001", "1"),
        ("000000000000Z", "Z"),
        ("0000000000010", "*"),  # 32: Crockford's check-only symbols
        ("0000000000011", "~"),
        ("0000000000012", "$"),
        ("0000000000013", "="),
        ("0000000000014", "U"),  # 36
        ("0000000000015", "0"),  # 37 wraps
    ],
)
def test_crockford_mod37_check_vectors(data: str, check: str) -> None:
    assert check_char(data) == check
    assert is_valid_code(data + check)


def test_every_single_character_substitution_is_caught(rng) -> None:
    for _ in range(20):
        code = unit_code(rng)
        for pos in range(len(code)):
            alphabet = CHECK_ALPHABET if pos == len(code) - 1 else CROCKFORD_ALPHABET
            for ch in alphabet:
                if ch == code[pos]:
                    continue
                typo = code[:pos] + ch + code[pos + 1 :]
                assert not is_valid_code(typo), (code, typo)


def test_every_adjacent_transposition_is_caught(rng) -> None:
    for _ in range(200):
        code = unit_code(rng)
        for pos in range(len(code) - 1):
            if code[pos] == code[pos + 1]:
                continue
            swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
            assert not is_valid_code(swapped), (code, swapped)


def test_dropped_or_extra_characters_are_caught(rng) -> None:
    code = unit_code(rng)
    assert not is_valid_code(code[1:])
    assert not is_valid_code(code[:-2] + code[-1])
    assert not is_valid_code("0" + code)


def test_normalize_is_case_insensitive_and_maps_lookalikes() -> None:
    code = "7K3M9Q2W8H4X" + "0" + check_char("7K3M9Q2W8H4X0")
    typed = code.lower().replace("0", "o")
    typed = f"{typed[:4]}-{typed[4:8]} {typed[8:]}"
    assert normalize_code(typed) == code
    assert is_valid_code(typed)
    assert normalize_code("il-10") == "1110"


@pytest.mark.parametrize("bad", ["", "   ", "ABC!D", "ÀBCD", "UU1"])
def test_invalid_input(bad: str) -> None:
    assert not is_valid_code(bad)
    with pytest.raises(CodeError):
        normalize_code(bad)


def test_code_error_is_a_value_error() -> None:
    assert issubclass(CodeError, ValueError)
