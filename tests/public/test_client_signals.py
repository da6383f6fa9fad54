"""Public signals one client cannot forge (issue 10, items 5 and 6): the copy warning and scan
count rest on distinct client addresses (IPv6 by /64), never on User-Agents or offered provinces;
X-Forwarded-For counts only from a trusted proxy; the report limit is keyed on the address and
holds under parallel posts; form tokens live hours, and no page carries an expired one."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import itsdangerous.timed
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.public.conftest import Chain
from trace.codeview import live
from trace.models import AuditEntry, Organization, Report, Scan
from trace.public import client as public_client

COPY = "This label may be a copy"


def _scanned_before(html: str) -> int:
    match = re.search(r"scanned (\d+) times? before", html)
    assert match, "no scan count on the page"
    return int(match.group(1))


def _page(client: FlaskClient, code: str, addr: str = "127.0.0.1", **headers: str) -> str:
    response = client.get(f"/q/{code}?lang=en", environ_base={"REMOTE_ADDR": addr},
                          headers=headers)  # fmt: skip
    assert response.status_code == 200
    return response.data.decode()


def _token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="token" value="([^"]+)"', text)
    assert match
    return match.group(1)


# The client's address ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ("", "198.51.100.7", "203.0.113.1", "198.51.100.7"),  # not believed without a proxy
        ("10.0.0.0/8", "198.51.100.7", "203.0.113.1", "198.51.100.7"),  # not from our proxy
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.1", "203.0.113.1"),
        ("10.0.0.0/8", "10.1.2.3", "1.1.1.1, 203.0.113.1", "203.0.113.1"),  # prepended: forged
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.1, 10.9.9.9", "203.0.113.1"),  # two proxies
        ("10.0.0.0/8 192.0.2.0/24", "10.1.2.3", "203.0.113.1, 192.0.2.5", "203.0.113.1"),
        ("10.0.0.0/8", "10.1.2.3", "[2001:db8::1]:4711", "2001:db8::1"),
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.1:4711", "203.0.113.1"),
        ("10.0.0.0/8", "10.1.2.3", "garbage", "10.1.2.3"),  # nothing to believe: the proxy
        ("10.0.0.0/8", "10.1.2.3", "", "10.1.2.3"),
        ("", "::ffff:198.51.100.7", "", "198.51.100.7"),  # IPv4-mapped is the IPv4 client
        ("unix", "", "203.0.113.1", "203.0.113.1"),  # a proxy on a Unix socket
        ("", "", "203.0.113.1", ""),
    ],
)
def test_client_address(trusted: str, remote: str, forwarded: str, expected: str) -> None:
    environ = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert public_client.address_from(environ, public_client.proxies(trusted)) == expected


def test_ipv6_clients_are_grouped_by_64() -> None:
    key = public_client.client_key
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("198.51.100.7") == "198.51.100.7"


def test_a_malformed_trusted_proxy_setting_is_refused_at_start() -> None:
    from trace import create_app
    from trace.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.example", "SECRET_KEY": "x"})


# Item 5: the copy warning and the scan count ----------------------------------------------------


def test_offered_provinces_never_raise_the_warning(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    for province in ("01", "79", "48", "24", "66", "92", "11", "31", "46", "56", "75", "96"):
        client.get(f"/q/{code}?province={province}")
    page = _page(client, code)
    assert COPY not in page
    assert _scanned_before(page) == 1  # one client, one day


def test_user_agents_do_not_make_clients(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    for n in range(12):
        _page(client, code, **{"User-Agent": f"Mozilla/5.0 (Phone {n}) Safari/{600 + n}"})
    page = _page(client, code, **{"User-Agent": "curl/8.5"})
    assert COPY not in page and _scanned_before(page) == 1


def test_one_client_counts_once_a_day(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str], count: Callable[[type], int]
) -> None:
    code = unit_code(chain.batch)
    for _ in range(100):
        client.get(f"/q/{code}")
    page = _page(client, code)
    assert _scanned_before(page) == 1 and COPY not in page
    assert count(Scan) == 101  # every view is still recorded, as evidence
    assert _scanned_before(_page(client, code, "198.51.100.1")) == 1
    assert _scanned_before(_page(client, code, "198.51.100.1")) == 2


def test_one_ipv6_client_is_its_64(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    for n in range(12):
        _page(client, code, f"2001:db8:77:1:{n:x}::{n + 1:x}")
    page = _page(client, code, "2001:db8:77:1::ffff")
    assert COPY not in page and _scanned_before(page) == 1


def test_distinct_addresses_still_raise_the_warning(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    for n in range(9):
        _page(client, code, f"198.51.100.{n + 1}")
    assert COPY not in _page(client, code, "2001:db8:5::1")  # the tenth client
    page = _page(client, code, "2001:db8:6::1")
    assert COPY in page and _scanned_before(page) == 10


def test_forwarded_addresses_count_only_from_a_trusted_proxy(
    app: Flask, client: FlaskClient, chain: Chain, unit_code: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code = unit_code(chain.batch)
    for n in range(12):
        _page(client, code, **{"X-Forwarded-For": f"203.0.113.{n + 1}"})
    page = _page(client, code, **{"X-Forwarded-For": "203.0.113.99"})
    assert COPY not in page and _scanned_before(page) == 1  # all from 127.0.0.1

    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", "127.0.0.1/32")
    other = unit_code(chain.batch)
    for n in range(5):  # a client behind the proxy forges what it prepends: still one client
        _page(client, other, **{"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.50"})
    assert _scanned_before(_page(client, other, **{"X-Forwarded-For": "203.0.113.50"})) == 1
    for n in range(9):
        _page(client, other, **{"X-Forwarded-For": f"203.0.113.{n + 1}"})
    page = _page(client, other, **{"X-Forwarded-For": "203.0.113.77"})
    assert COPY in page and _scanned_before(page) == 10


def _raise_warning(client: FlaskClient, code: str, prefix: str) -> None:
    for n in range(10):
        _page(client, code, f"{prefix}.{n + 1}")
    assert COPY in _page(client, code, f"{prefix}.200")


def test_a_cleared_warning_comes_back_only_on_new_evidence(
    app: Flask, client: FlaskClient, chain: Chain, unit_code: Callable[..., str],
    token: Callable[..., dict[str, str]], session: Session,
) -> None:  # fmt: skip
    code = unit_code(chain.batch)
    _raise_warning(client, code, "198.51.100")
    province = session.scalar(
        select(Organization.province_code).where(Organization.id == chain.batch.producer_id)
    )
    url = f"/api/v1/codes/{code}/copy-warning/clear"
    reason = {"reason": "Checked with the buyer: one household, many phones"}
    assert client.post(url, json=reason).status_code == 401
    assert client.post(url, json=reason, headers=token("producer", chain.batch.producer_id)
                       ).status_code == 403  # fmt: skip
    other = "01" if province != "01" else "24"
    assert client.post(url, json=reason, headers=token("centre", province=other)).status_code == 403
    assert client.post(url, json={}, headers=token("inspector")).status_code == 422
    assert client.post(f"/api/v1/codes/{chain.code}/copy-warning/clear", json=reason,
                       headers=token("inspector")).status_code == 409  # fmt: skip  # batch code
    cleared = client.post(url, json=reason, headers=token("centre", province=province))
    assert cleared.status_code == 200, cleared.json
    assert cleared.json["reason"] == reason["reason"] and cleared.json["cleared_at"]

    session.rollback()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "clear_copy_warning")
    ).one()
    assert entry.after["copy_warning_clear_reason"] == reason["reason"]
    # The same clients again, and thirty genuine scans of one buyer: no new evidence.
    for n in range(10):
        assert COPY not in _page(client, code, f"198.51.100.{n + 1}")
    for _ in range(30):
        assert COPY not in _page(client, code, "198.51.100.1")
    for n in range(10):  # ten clients not seen before the clear
        assert COPY not in _page(client, code, f"203.0.113.{n + 1}")
    assert COPY in _page(client, code, "198.51.100.1")


# Item 6: the report limit and the form's token ---------------------------------------------------


def _report(client: FlaskClient, code: str, token: str, addr: str = "127.0.0.1", **headers: str):
    form = {"kind": "other", "message": "Nhãn bị mờ", "token": token}
    return client.post(f"/q/{code}/report", data=form, environ_base={"REMOTE_ADDR": addr},
                       headers=headers)  # fmt: skip


def test_the_report_limit_is_not_bypassed_by_user_agents_or_forwarded_addresses(
    client: FlaskClient, chain: Chain, count: Callable[[type], int]
) -> None:
    token = _token(client.get(f"/q/{chain.code}").data)
    for n in range(5):
        assert _report(client, chain.code, token, **{"User-Agent": f"agent {n}"}).status_code == 201
    assert _report(client, chain.code, token, **{"User-Agent": "agent 6"}).status_code == 429
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert _report(client, chain.code, token, **forged).status_code == 429
    assert _report(client, chain.code, token, "2001:db8::1").status_code == 201
    assert count(Report) == 6


def test_behind_a_trusted_proxy_the_report_limit_is_per_forwarded_client(
    app: Flask, client: FlaskClient, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", "127.0.0.0/8, ::1")
    token = _token(client.get(f"/q/{chain.code}").data)
    first = {"X-Forwarded-For": "198.51.100.20"}
    for n in range(5):  # what the client prepends is not believed
        forged = {"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.20"}
        assert _report(client, chain.code, token, **forged).status_code == 201
    assert _report(client, chain.code, token, **first).status_code == 429
    assert _report(client, chain.code, token, **{"X-Forwarded-For": "198.51.100.21"}
                   ).status_code == 201  # fmt: skip


@pytest.mark.committed  # threads, each with its own connection
def test_parallel_reports_accept_exactly_the_limit(
    app: Flask, chain: Chain, count: Callable[[type], int]
) -> None:
    """Threads, each with its own connection, post at once from one client."""
    token = _token(app.test_client().get(f"/q/{chain.code}").data)
    parallel = 16
    barrier = threading.Barrier(parallel)
    statuses: list[int] = []

    def post() -> None:
        http = app.test_client()
        barrier.wait()
        response = _report(http, chain.code, token, "198.51.100.5")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 5 + [429] * (parallel - 5)
    assert count(Report) == 5


class _Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """Moves the wall clock that signs and checks form tokens (and picks their period)."""
    fake = _Clock()
    monkeypatch.setattr(public_client, "time", fake, raising=False)
    monkeypatch.setattr(itsdangerous.timed, "time", fake)
    return fake


def test_an_expired_form_token_is_refused_with_a_friendly_page(
    app: Flask, client: FlaskClient, chain: Chain, count: Callable[[type], int]
) -> None:
    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 3 * 3600

    with app.app_context():
        old = URLSafeTimedSerializer(app.secret_key, salt="trace.public.report", signer=Old)
        token = str(old.dumps(chain.code))
    refused = _report(client, chain.code, token)
    assert refused.status_code == 400
    body = refused.data.decode()
    assert "<form" in body and "Traceback" not in body
    assert "Biểu mẫu đã hết hạn" in body or "expired" in body
    fresh = _token(body)  # the page offers a new form at once
    assert _report(client, chain.code, fresh).status_code == 201
    assert count(Report) == 1


def test_no_page_carries_an_expired_token(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str], clock: _Clock
) -> None:
    code = unit_code(chain.batch)
    first = client.get(f"/q/{code}")
    old_token, etag = _token(first.data), first.headers["ETag"]
    assert client.get(f"/q/{code}", headers={"If-None-Match": etag}).status_code == 304
    clock.offset = 3 * 3600  # later than the token's 2 hours (the page cache has not expired)
    again = client.get(f"/q/{code}", headers={"If-None-Match": etag})
    assert again.status_code == 200  # a stored page is not revalidated with its old token
    new_token = _token(again.data)
    assert new_token != old_token
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get(f"/q/{code}", headers=since).status_code == 200  # nor by its date
    since = {"If-Modified-Since": again.headers["Last-Modified"]}
    assert client.get(f"/q/{code}", headers=since).status_code == 304
    assert _report(client, code, old_token).status_code == 400
    assert _report(client, code, new_token).status_code == 201


def test_tokens_live_hours_not_days(app: Flask) -> None:
    assert 3600 <= app.config["PUBLIC_FORM_MAX_AGE"] <= 6 * 3600


def test_scans_buffered_before_a_clear_do_not_bring_the_warning_back(
    app: Flask, client: FlaskClient, chain: Chain, unit_code: Callable[..., str],
    token: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    code = unit_code(chain.batch)
    _raise_warning(client, code, "192.0.2")
    url = f"/api/v1/codes/{code}/copy-warning/clear"
    assert client.post(url, json={"reason": "seen"}, headers=token("admin")).status_code == 200
    assert COPY not in _page(client, code, "192.0.2.1")
    live.flush(app)
    assert COPY not in _page(client, code, "192.0.2.2")


def test_report_hashes_are_of_the_address(
    client: FlaskClient, chain: Chain, session: Session
) -> None:
    token = _token(client.get(f"/q/{chain.code}").data)
    _report(client, chain.code, token, "198.51.100.8", **{"User-Agent": "a"})
    _report(client, chain.code, token, "198.51.100.8", **{"User-Agent": "b"})
    session.rollback()
    hashes = session.scalars(select(func.count(Report.client_hash.distinct()))).one()
    assert hashes == 1


def test_the_warning_says_what_it_rests_on_in_both_languages(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    """Only distinct clients raise it: the text no longer claims "several places"."""
    code = unit_code(chain.batch)
    _raise_warning(client, code, "198.51.100")
    english = _page(client, code, "198.51.100.1")
    assert "scanned by many different people. A genuine label" in english
    assert "several places" not in english
    vietnamese = client.get(f"/q/{code}?lang=vi", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    text = vietnamese.get_data(as_text=True)
    assert "Tem này có thể là tem sao chép" in text
    assert "đã được nhiều người khác nhau quét." in text and "nhiều nơi" not in text


def test_a_form_token_is_the_one_the_serializer_makes(app: Flask, clock: _Clock) -> None:
    """:func:`form_token` signs with an HMAC keyed once per secret: byte for byte the token
    ``URLSafeTimedSerializer.dumps`` makes in the same second, for any code and time."""
    with app.app_context():
        serializer = URLSafeTimedSerializer(app.secret_key, salt="trace.public.report")
        for offset, code in ((0.0, "CODE00000001"), (7 * 86400.0, "8FBNYCDN2ZAW09"), (0.0, "")):
            clock.offset = offset
            for _attempt in range(3):  # the second may turn between the two
                ours, theirs = public_client.form_token(code), str(serializer.dumps(code))
                if ours.rsplit(".", 2)[1] == theirs.rsplit(".", 2)[1]:
                    break
            assert ours == theirs, code
            assert public_client.valid_form_token(ours, code)
            assert not public_client.valid_form_token(ours, code + "X")


def test_form_tokens_follow_the_secret_key_of_the_moment(app: Flask) -> None:
    """The serializer is kept per secret key: a token signed before a key change no longer
    passes, and tokens are those a serializer built on the spot signs and reads."""
    with app.app_context():
        secret = app.secret_key
        token = public_client.form_token("CODE00000001")
        fresh = URLSafeTimedSerializer(secret, salt="trace.public.report")
        assert fresh.loads(token) == "CODE00000001"
        assert public_client.valid_form_token(str(fresh.dumps("CODE00000002")), "CODE00000002")
        assert not public_client.valid_form_token(token, "CODE00000002")
        try:
            app.secret_key = "another secret"
            assert not public_client.valid_form_token(token, "CODE00000001")
            assert public_client.valid_form_token(
                public_client.form_token("CODE00000001"), "CODE00000001"
            )
        finally:
            app.secret_key = secret
        assert public_client.valid_form_token(token, "CODE00000001")


def test_headers_a_client_makes_up_are_not_kept(app: Flask) -> None:
    """The address and language caches are keyed by request headers: a client sending a new
    X-Forwarded-For (not believed without a trusted proxy) or a long made-up header each time
    must not fill them."""
    from trace.public import i18n

    app.config["TRUSTED_PROXIES"] = ""
    public_client._address.cache_clear()
    i18n._best_language.cache_clear()
    for n in range(20):
        environ = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"1.2.3.{n}"}
        with app.test_request_context(environ_base=environ):
            assert public_client.client_address() == "10.0.0.1"
    assert public_client._address.cache_info().currsize == 1
    long_header = "en;q=0.9, " + ", ".join(f"x-{n:04d};q=0.1" for n in range(40))
    with app.test_request_context(headers={"Accept-Language": long_header}):
        assert i18n.page_language() == "en"
    assert i18n._best_language.cache_info().currsize == 0
    with app.test_request_context(headers={"Accept-Language": "en-US,en;q=0.9"}):
        assert i18n.page_language() == "en"
    assert i18n._best_language.cache_info().currsize == 1
