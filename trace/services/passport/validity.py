"""Whether a certificate is in force on a given day, in Vietnam's calendar.

A certificate is valid from its first day to its last day inclusive; the day after ``valid_to``
it is expired, whatever the hour elsewhere. One with neither date (free text read into a record)
is ``not_stated``: shown as such, and not counted as a certificate in force. Public pages read
:func:`today` through their freshness, so a page cached yesterday never shows a certificate as
valid today after it lapsed.
"""

from __future__ import annotations

import datetime as dt
import enum

from trace.models import Certificate

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")  # no daylight saving since 1975


class Validity(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_STATED = "not_stated"


def today() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


def validity(certificate: Certificate, on: dt.date) -> Validity:
    if certificate.valid_from is None and certificate.valid_to is None:
        return Validity.NOT_STATED
    if certificate.valid_to is not None and on > certificate.valid_to:
        return Validity.EXPIRED
    if certificate.valid_from is not None and on < certificate.valid_from:
        return Validity.NOT_YET_VALID
    return Validity.VALID
