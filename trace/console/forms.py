"""Console forms post the API's field names; this turns them into what the API's marshmallow
schemas load, and their errors back into messages next to each field.

Nested lists use indexed names: ``inputs-0-batch_id``, ``inputs-0-quantity``,
``temperatures-1-celsius``; a nested object a plain path: ``location-latitude``. :func:`nested`
is the one place that parses them, so a processing step can take any number of inputs. A form
that fails is shown again with what was typed (:class:`FormState`) and each error next to its
field, in the page's language (the usual marshmallow and service messages are translated here).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, lazy_gettext
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from trace.services.errors import ServiceError

#: fields every console form carries that no schema loads
IGNORED = frozenset({"csrf_token", "next", "lang"})
_INDEX = re.compile(r"^\d{1,4}$")
SEPARATOR = "-"


def nested(
    form: MultiDict[str, str] | Mapping[str, str],
    *,
    lists: Collection[str] = (),
    keep_empty: Collection[str] = (),
) -> dict[str, Any]:
    """The posted fields as the nested dict an API schema loads.

    - ``a-0-b`` -> ``{"a": [{"b": …}]}``; indexes are sorted and gaps closed, rows left wholly
      empty are dropped (a blank extra row of a form is not an error);
    - a name posted more than once, or named in ``lists`` (checkboxes), gives a list; a
      top-level name of ``lists`` not posted at all (no box ticked) gives ``[]``;
    - empty values are left out (so the schema's defaults apply) unless named in ``keep_empty``;
    - values are stripped of surrounding spaces; ``csrf_token``, ``next`` and ``lang`` are dropped.
    """
    items: Iterable[tuple[str, list[str]]]
    if isinstance(form, MultiDict):
        items = ((key, form.getlist(key)) for key in form)
    else:
        items = ((key, [value]) for key, value in form.items())
    tree: dict[str, Any] = {}
    for name, raw_values in items:
        if name in IGNORED or not name:
            continue
        values = [v.strip() for v in raw_values]
        if name not in keep_empty:
            values = [v for v in values if v != ""]
        if not values and name not in lists:
            continue
        value: Any = values if (name in lists or len(values) > 1) else values[0]
        _place(tree, name.split(SEPARATOR), value)
    for name in lists:
        if SEPARATOR not in name:
            tree.setdefault(name, [])
    return _lists(tree)


_WHOLE = re.compile(r"^-?\d{1,18}$")


def typed(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (from :func:`nested`) with the whole numbers that ``schema``'s strict integer
    fields want (a form posts text; the API's JSON carries numbers). Other text is left as it
    is, so the schema names what is wrong."""
    result = dict(data)
    for name, value in data.items():
        field_obj = schema.fields.get(name)
        if field_obj is None or field_obj.dump_only:
            continue
        result[name] = _typed_value(field_obj, value)
    return result


def _typed_value(field_obj: fields.Field, value: Any) -> Any:
    if isinstance(field_obj, fields.Integer) and isinstance(value, str) and _WHOLE.match(value):
        return int(value)
    if isinstance(field_obj, fields.Nested) and isinstance(value, dict):
        nested_schema = field_obj.schema
        return typed(nested_schema, value)
    if isinstance(field_obj, fields.List) and isinstance(value, list):
        return [_typed_value(field_obj.inner, item) for item in value]
    return value


def _place(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _lists(node: Any) -> Any:
    """Dicts whose keys are all indexes become lists in index order, empty rows dropped."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(_INDEX.match(key) for key in converted):
        rows = [converted[key] for key in sorted(converted, key=int)]
        return [row for row in rows if row not in ({}, [], "", None)]
    return converted


def flat_name(path: Iterable[Any]) -> str:
    """``["inputs", 0, "batch_id"]`` -> ``inputs-0-batch_id``, the form field's name."""
    return SEPARATOR.join(str(part) for part in path)


#: what marshmallow and the services say most often, in the page's language
_KNOWN = {
    "Missing data for required field.": lazy_gettext("This field is required."),
    "Field may not be null.": lazy_gettext("This field is required."),
    "Not a valid integer.": lazy_gettext("Enter a whole number."),
    "Not a valid number.": lazy_gettext("Enter a number."),
    "Not a valid date.": lazy_gettext("Enter a date."),
    "Not a valid datetime.": lazy_gettext("Enter a date and time."),
    "Not a valid email address.": lazy_gettext("Enter an email address."),
    "Not a valid string.": lazy_gettext("Enter text."),
    "Unknown field.": lazy_gettext("This field is not expected here."),
    "Must be one of: {choices}.": lazy_gettext("Choose one of the options."),
    "at least 8 characters": lazy_gettext("At least 8 characters."),
    "at most 200 characters": lazy_gettext("At most 200 characters."),
    "mismatch": lazy_gettext("The two passwords are not the same."),
    "not an email address": lazy_gettext("Enter an email address."),
    "not a phone number": lazy_gettext("Enter a phone number."),
    "an email address or a phone number is needed": lazy_gettext(
        "Enter an email address or a phone number."
    ),
    "already has an account": lazy_gettext("This person already has an account."),
    "a producer belongs to an organisation": lazy_gettext("Choose the organisation."),
    "a centre user works in a province": lazy_gettext("Choose the centre's organisation."),
    "give the token a name to recognise it by": lazy_gettext(
        "Give the token a name to recognise it by."
    ),
}


def translated(message: str) -> str:
    known = _KNOWN.get(message)
    if known is not None:
        return str(known)
    if message.startswith("Must be one of:"):
        return str(_KNOWN["Must be one of: {choices}."])
    if message.startswith(("Shorter than", "Longer than", "Length must be")):
        return gettext("The length is not allowed (%(rule)s).", rule=message)
    return message


@dataclass
class FormState:
    """What a form shows again: the values typed and the errors per field name."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: errors about no single field
    general: list[str] = field(default_factory=list)

    def value(self, name: str, default: Any = "") -> Any:
        value = self.values.get(name)
        return default if value is None else value

    def errors_for(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.general)


def state(
    form: MultiDict[str, str] | Mapping[str, str] | None = None,
    error: ValidationError | ServiceError | None = None,
) -> FormState:
    """The form as typed (``None``: an empty form) with ``error``'s messages by field."""
    values = {k: v for k, v in (form or {}).items() if k not in IGNORED}
    result = FormState(values=values)
    if error is not None:
        add_errors(result, error)
    return result


def add_errors(result: FormState, error: ValidationError | ServiceError) -> None:
    if isinstance(error, ValidationError):
        _walk_messages(result, [], error.messages)
        return
    if not error.errors:
        result.general.append(translated(error.detail))
    for item in error.errors:
        path = [part for part in item.pointer.strip("/").split("/") if part]
        message = translated(item.message)
        if path:
            result.errors.setdefault(flat_name(path), []).append(message)
        else:
            result.general.append(message)


def _walk_messages(result: FormState, path: list[Any], messages: Any) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                _walk_messages(result, path, value)
            else:
                _walk_messages(result, [*path, key], value)
        return
    texts = messages if isinstance(messages, list) else [messages]
    for text in texts:
        if isinstance(text, dict | list):
            _walk_messages(result, path, text)
        elif path:
            result.errors.setdefault(flat_name(path), []).append(translated(str(text)))
        else:
            result.general.append(translated(str(text)))
