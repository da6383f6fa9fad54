"""Posted fields with the API's names become what the API's schemas load; their errors come
back per field, translated, with what was typed kept."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from trace.console.forms import FormState, nested, state
from trace.services.errors import FieldError, InvalidInput


def test_indexed_names_become_nested_lists_in_index_order() -> None:
    form = MultiDict(
        [
            ("stage", "processing"),
            ("inputs-1-batch_id", "7"),
            ("inputs-0-batch_id", "3"),
            ("inputs-0-quantity", "12.5"),
            ("inputs-1-quantity", "4"),
            ("temperatures-0-celsius", "4.5"),
            ("location-latitude", "21.3"),
            ("csrf_token", "t"),
        ]
    )
    assert nested(form) == {
        "stage": "processing",
        "inputs": [{"batch_id": "3", "quantity": "12.5"}, {"batch_id": "7", "quantity": "4"}],
        "temperatures": [{"celsius": "4.5"}],
        "location": {"latitude": "21.3"},
    }


def test_gaps_close_and_blank_rows_and_fields_drop() -> None:
    form = MultiDict(
        [
            ("inputs-0-batch_id", "3"),
            ("inputs-1-batch_id", " "),
            ("inputs-1-quantity", ""),
            ("inputs-5-batch_id", "9"),
            ("note", "  "),
        ]
    )
    assert nested(form) == {"inputs": [{"batch_id": "3"}, {"batch_id": "9"}]}


def test_repeated_names_and_declared_lists_give_lists() -> None:
    form = MultiDict([("certifications", "VietGAP"), ("certifications", "OCOP"), ("tags", "x")])
    assert nested(form, lists={"tags", "standards"}) == {
        "certifications": ["VietGAP", "OCOP"],
        "tags": ["x"],
        "standards": [],
    }


class Inner(Schema):
    batch_id = fields.Integer(required=True)


class Outer(Schema):
    lot_code = fields.String(required=True)
    inputs = fields.List(fields.Nested(Inner), required=True)


def test_nested_form_loads_through_a_schema_and_its_errors_map_back(app: Flask) -> None:
    form = MultiDict([("inputs-0-batch_id", "3"), ("inputs-1-batch_id", "many")])
    with pytest.raises(ValidationError) as caught:
        Outer().load(nested(form))
    with app.test_request_context("/console/?lang=vi"):
        from flask import g

        g._page_language = "vi"
        result = state(form, caught.value)
    assert result.errors == {
        "lot_code": ["Trường này là bắt buộc."],
        "inputs-1-batch_id": ["Hãy nhập số nguyên."],
    }
    assert result.value("inputs-1-batch_id") == "many"


def test_service_errors_map_by_their_pointer(app: Flask) -> None:
    error = InvalidInput(
        "bad",
        errors=[FieldError("/inputs/0/quantity", "more than the batch holds"), FieldError("", "x")],
    )
    with app.test_request_context("/console/"):
        result = state({}, error)
    assert result.errors == {"inputs-0-quantity": ["more than the batch holds"]}
    assert result.general == ["x"]


def test_a_field_macro_shows_label_value_and_error(app: Flask) -> None:
    form = FormState(values={"lot_code": '"><b>x'}, errors={"lot_code": ["already used"]})
    template = (
        '{% from "console/_forms.html" import field %}'
        '{{ field(form, "lot_code", "Mã lô", required=True) }}'
    )
    with app.test_request_context("/console/"):
        html = render_template_string(template, form=form)
    assert '<label for="f-lot_code">Mã lô</label>' in html
    assert 'value="&#34;&gt;&lt;b&gt;x"' in html  # what was typed, escaped
    assert 'aria-invalid="true"' in html
    assert '<p class="error" id="e-lot_code">already used</p>' in html


def test_a_select_macro_keeps_the_choice(app: Flask) -> None:
    form: Any = FormState(values={"facility_id": "2"})
    template = (
        '{% from "console/_forms.html" import select %}'
        '{{ select(form, "facility_id", "Cơ sở", [(1, "A"), (2, "B")]) }}'
    )
    with app.test_request_context("/console/"):
        html = render_template_string(template, form=form)
    assert '<option value="2" selected>B</option>' in html
    assert '<option value="1">A</option>' in html
