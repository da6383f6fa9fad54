"""The import engine's row errors as a person reads them, in the page's language.

The engine answers in English (the API's and the CLI's language); the messages a spreadsheet
meets most are said again here, with what they name kept (a GTIN, a row, a column). Anything
else falls back to the console's usual rewording, then to the engine's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext

from trace.console.messages import reworded

Say = Callable[[re.Match[str]], str]

_PATTERNS: list[tuple[re.Pattern[str], Say]] = [
    (re.compile(r"check digit", re.I),
     lambda m: gettext("The check digit is wrong: check the code's last digit.")),
    (re.compile(r"^no facility (.+)$"),
     lambda m: gettext("There is no facility %(name)s.", name=m.group(1))),
    (re.compile(r"^no product with GTIN (\S+)$"),
     lambda m: gettext("No product has the GTIN %(gtin)s.", gtin=m.group(1))),
    (re.compile(r"^no batch with lot code (.+)$"),
     lambda m: gettext("There is no batch with the lot code %(lot)s.", lot=m.group(1))),
    (re.compile(r"^no organisation with tax code or GLN (.+)$"),
     lambda m: gettext("No organisation has the tax code or GLN %(key)s.", key=m.group(1))),
    (re.compile(r"^duplicate of row (\d+)$"),
     lambda m: gettext("This row repeats row %(row)s.", row=m.group(1))),
    (re.compile(r"^ambiguous"),
     lambda m: gettext("More than one match: give the GLN, GTIN or id.")),
    (re.compile(r"^unknown column (.+)$"),
     lambda m: gettext("Unknown column %(column)s.", column=m.group(1))),
    (re.compile(r"^missing required column (.+)$"),
     lambda m: gettext("A required column is missing: %(column)s.", column=m.group(1))),
    (re.compile(r"already recorded differently"),
     lambda m: gettext("Already recorded differently: correct it with a correction, not an "
                       "import.")),
    (re.compile(r"^Not a valid (date|datetime)\.?$"),
     lambda m: gettext("Not a valid date: write dd/mm/yyyy.")),
    (re.compile(r"^Missing data for required field\.?$"),
     lambda m: gettext("This is required.")),
    (re.compile(r"^the file is empty$"),
     lambda m: gettext("The file is empty.")),
    (re.compile(r"an unexpected error$"),
     lambda m: gettext("An unexpected error stopped the check; it was logged. Try again later.")),
    (re.compile(r"^the uploaded file is gone"),
     lambda m: gettext("The uploaded file is gone: upload it again.")),
    (re.compile(r"^the uploader's account is not active$"),
     lambda m: gettext("The account that uploaded the file is deactivated.")),
]  # fmt: skip


def say(message: str) -> str:
    for pattern, text in _PATTERNS:
        found = pattern.search(message)
        if found:
            return text(found)
    return reworded(message)
