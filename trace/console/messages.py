"""The services' error messages as a person reads them, in the page's language.

The services answer in English for the API (with JSON pointers); a console form shows each
message next to its field. Messages the producer's forms meet often are reworded here; a
pointer into the EPCIS document the stage form built (``/epcisBody/…``) names no field of the
form, so its message goes to the top of the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import LazyString, gettext, lazy_gettext
from marshmallow import ValidationError

from trace.services.errors import FieldError, ServiceError

Say = Callable[[re.Match[str]], str]

_PATTERNS: list[tuple[re.Pattern[str], LazyString | Say]] = [
    (re.compile(r"already used by batch \d+ of this product"),
     lazy_gettext("This lot code is already used for this product.")),
    (re.compile(r"^facility \d+ (does not belong to producer \d+|does not exist|is not one of "
                r"your facilities)$"),
     lazy_gettext("Choose one of your organisation's facilities.")),
    (re.compile(r"^(a producer registers batches of its own products only|product \d+ does not "
                r"exist)$"),
     lazy_gettext("Choose one of your organisation's products.")),
    (re.compile(r"is archived$"),
     lazy_gettext("This one is archived: choose another.")),
    (re.compile(r"^expiry date is before the production date$"),
     lazy_gettext("The expiry date is before the production date.")),
    (re.compile(r"^(quantity must be positive|Must be greater than 0\.?)$"),
     lazy_gettext("Enter a quantity above zero.")),
    (re.compile(r"^no such other batch$"),
     lazy_gettext("Choose another batch.")),
    (re.compile(r"^organisation \d+ does not exist$"),
     lazy_gettext("Choose an organisation from the list.")),
    (re.compile(r"needs at least one input batch"),
     lazy_gettext("Processing needs at least one input batch.")),
    (re.compile(r"belong to another organisation and organisation|were not shipped to "
                r"organisation"),
     lazy_gettext("Your organisation does not hold one of these batches, so it may not record "
                  "this stage.")),
    (re.compile(r"is recalled: it may not be shipped or sold"),
     lazy_gettext("This batch is recalled: it may not be shipped or sold.")),
    (re.compile(r"recorded by another organisation"),
     lazy_gettext("Only the organisation that recorded this event may correct it.")),
    (re.compile(r"already declared in error"),
     lazy_gettext("This event is already corrected.")),
    (re.compile(r"of your exports are still being made"),
     lazy_gettext("Your earlier exports are still being made: wait for one to finish.")),
    (re.compile(r"is in the future: an event may be dated at most"),
     lazy_gettext("This time is in the future: enter when the stage happened.")),
    # the registry's forms (organisations, facilities, products): what they name is kept
    (re.compile(r"^(GTIN|GLN) check digit is wrong: expected (\d)$"),
     lambda m: gettext("The check digit is wrong: the last digit should be %(digit)s.",
                       digit=m.group(2))),
    (re.compile(r"^GTIN must (contain digits only|have 8, 12, 13 or 14 digits)$"),
     lambda m: gettext("A GTIN has 8, 12, 13 or 14 digits.")),
    (re.compile(r"^GLN must (contain digits only|have 13 digits)$"),
     lambda m: gettext("A GLN has 13 digits.")),
    (re.compile(r"^tax code must be"),
     lambda m: gettext("A tax code has 10 digits, or 10 digits, a dash and 3 digits for a "
                       "branch.")),
    (re.compile(r"^already used by (organization|facility|product) \d+$"),
     lambda m: gettext("Already registered: this number belongs to another record.")),
    (re.compile(r"is not one of the 34 province codes"),
     lambda m: gettext("Choose a province.")),
    (re.compile(r"^Not a valid URL\.$"),
     lambda m: gettext("Enter a web address starting with http:// or https://.")),
    (re.compile(r"^String does not match expected pattern\.$"),
     lambda m: gettext("Check how this is written.")),
    (re.compile(r"^Must be greater than or equal to .* and less than or equal to .*\.$"),
     lambda m: gettext("The value is outside what is allowed (%(rule)s).", rule=m.group(0))),
]  # fmt: skip


def reworded(message: str) -> str:
    for pattern, text in _PATTERNS:
        found = pattern.search(message)
        if found:
            return text(found) if callable(text) else str(text)
    return message


def readable(error: ValidationError | ServiceError) -> ValidationError | ServiceError:
    """``error`` with its messages reworded, and pointers into the built EPCIS document moved
    to the form as a whole."""
    if isinstance(error, ValidationError):
        return ValidationError(_reword_tree(error.messages))
    items = [
        FieldError(_form_pointer(item.pointer), reworded(item.message)) for item in error.errors
    ]
    result = ServiceError(reworded(error.detail), errors=items)
    result.status = error.status
    return result


def _form_pointer(pointer: str) -> str:
    """The stage form's field an EPCIS pointer stands for: its time, else the form as a whole."""
    if pointer.startswith("/epcisBody"):
        return "/time" if pointer.endswith("/eventTime") else ""
    return pointer


def _reword_tree(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {key: _reword_tree(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_reword_tree(value) for value in messages]
    return reworded(str(messages))
