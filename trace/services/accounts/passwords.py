"""Passwords, hashed with argon2id (argon2-cffi). A password is never stored, logged or
returned; only its hash is kept, and it is rehashed on sign-in when the cost settings grow."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 200


@dataclass(frozen=True)
class Cost:
    """argon2id cost: passes and memory (KiB). Defaults: RFC 9106's second recommendation."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024


@lru_cache(maxsize=8)
def _hasher(cost: Cost) -> PasswordHasher:
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=1)


@lru_cache(maxsize=8)
def _dummy_hash(cost: Cost) -> str:
    return _hasher(cost).hash("not a password of anyone")


def hash_password(password: str, cost: Cost) -> str:
    return _hasher(cost).hash(password)


def verify(stored: str | None, password: str, cost: Cost) -> bool:
    """Whether ``password`` matches ``stored``. With no stored hash (unknown login, password
    not set yet) a dummy hash is checked anyway, so the answer takes as long either way."""
    hasher = _hasher(cost)
    try:
        return bool(hasher.verify(stored or _dummy_hash(cost), password)) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str, cost: Cost) -> bool:
    try:
        return _hasher(cost).check_needs_rehash(stored)
    except InvalidHashError:
        return True


def problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or ``None``."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    if "\x00" in password:
        return "a password cannot contain a NUL character"
    return None
