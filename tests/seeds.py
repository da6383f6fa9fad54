"""Reproducible random test inputs.

Every random input of the suite derives from one seed per run: ``TRACE_TEST_SEED`` (a whole
number) when set, ``TRACE_TEST_SEED=random`` for a fresh one, else :data:`DEFAULT_SEED`. The seed
is printed in the pytest header, so a failure on a drawn seed is repeated with
``TRACE_TEST_SEED=<seed>``. Each user draws from its own stream (:func:`rng_for` with a name, or
the ``rng`` fixture, named by the test's node id), so the inputs of a test do not depend on which
other tests ran before it.

Codes the *service* issues stay drawn from :mod:`secrets`, as in production; tests print them in
their assertion messages.
"""

from __future__ import annotations

import os
import random
import secrets

from trace.labels.codes import CHECK_ALPHABET, CODE_DATA_LENGTH, CROCKFORD_ALPHABET

ENV = "TRACE_TEST_SEED"
DEFAULT_SEED = 20260612


def _resolve() -> int:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return DEFAULT_SEED
    if value == "random":
        drawn = secrets.randbits(32)
        os.environ[ENV] = str(drawn)  # servers and subprocesses the tests start draw alike
        return drawn
    return int(value)


SEED = _resolve()


def rng_for(*names: object) -> random.Random:
    """A generator of its own for ``names`` under this run's seed."""
    return random.Random(":".join([str(SEED), *map(str, names)]))


def unit_code(rng: random.Random) -> str:
    """A valid unit code drawn from ``rng``, distributed as :func:`new_unit_code` issues them."""
    while True:
        value = rng.getrandbits(5 * CODE_DATA_LENGTH)
        if value % 37 not in {32, 33, 34, 35}:
            break
    data = "".join(
        CROCKFORD_ALPHABET[(value >> (5 * shift)) & 31]
        for shift in reversed(range(CODE_DATA_LENGTH))
    )
    return data + CHECK_ALPHABET[value % 37]
