"""The recall's consumer instruction in the public banner, in the page's language, at once on
the page of a batch reached downstream."""

from __future__ import annotations

from tests.api.inspection_support import add_codes, build_chain
from tests.api.test_recall_dry_run import BODY
from trace.db import db
from trace.labels.codes import new_unit_code


def test_public_banner_shows_the_instruction_in_the_page_language(app, client, build, token):
    chain = build_chain(client, build, token)
    code = new_unit_code()
    with db.new_session(app) as session:
        add_codes(session, chain["c"].id, [(code, "printed")])
    url = f"/q/{code}"
    before = client.get(url).get_data(as_text=True)
    assert 'id="recall"' not in before
    issued = client.post("/api/v1/recalls", headers=token("inspector"),
                         json={**BODY, "batches": [chain["a"].id]})  # fmt: skip
    assert issued.status_code == 201
    # The downstream gift box's public page, at once (its freshness includes the open recall).
    vi = client.get(url).get_data(as_text=True)
    assert 'id="recall"' in vi and BODY["instruction_vi"] in vi
    en = client.get(url + "?lang=en").get_data(as_text=True)
    assert BODY["instruction_en"] in en and BODY["instruction_vi"] not in en
