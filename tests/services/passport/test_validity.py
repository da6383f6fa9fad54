"""A certificate is valid through its last day and expired the day after, in Vietnam's calendar."""

from __future__ import annotations

import datetime as dt

from trace.models import Certificate, CertificateKind
from trace.services.passport import validity as v

DAY = dt.date(2026, 11, 30)


def cert(valid_from: dt.date | None, valid_to: dt.date | None) -> Certificate:
    return Certificate(
        kind=CertificateKind.VIETGAP, number="VG-1", valid_from=valid_from, valid_to=valid_to
    )


def test_boundaries() -> None:
    one = dt.timedelta(days=1)
    assert v.validity(cert(DAY - 10 * one, DAY), DAY) is v.Validity.VALID  # its last day
    assert v.validity(cert(DAY - 10 * one, DAY - one), DAY) is v.Validity.EXPIRED
    assert v.validity(cert(DAY, DAY + one), DAY) is v.Validity.VALID  # its first day
    assert v.validity(cert(DAY + one, DAY + 10 * one), DAY) is v.Validity.NOT_YET_VALID
    assert v.validity(cert(DAY - one, None), DAY) is v.Validity.VALID  # no end (a GI)
    assert v.validity(cert(None, DAY - one), DAY) is v.Validity.EXPIRED
    assert v.validity(cert(None, None), DAY) is v.Validity.NOT_STATED


def test_today_is_vietnams_day() -> None:
    """At 17:00 UTC it is already the next day in Vietnam (UTC+7)."""

    def vietnam_day() -> dt.date:
        return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()

    before = vietnam_day()
    today = v.today()
    assert today in {before, vietnam_day()}  # a midnight may pass between the two reads
