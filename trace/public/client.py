"""Who is asking, as far as the public side needs to know.

:func:`client_address` is the one place that decides a request's client address, for scans, the
report limit and sign-in lockout. ``X-Forwarded-For`` is believed only when the TCP peer is one of
``TRUSTED_PROXIES`` (CIDRs): then the client is the rightmost forwarded address that is not a
trusted proxy (a client can prepend anything, but not what our proxy appends). A hop count (as
werkzeug's ``ProxyFix``) would believe the header of a client that reaches the app directly,
bypassing the proxy; networks do not.

What is stored is never the address: :func:`client_key` groups it (an IPv6 client owns at least
a /64, so a /64 is one client) and :mod:`trace.codeview.scans` hashes that with a daily salt.
The User-Agent plays no part: a client can send a new one with every request.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import time
from functools import lru_cache

from flask import Request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

from trace.codeview import scans
from trace.provinces import PROVINCES

_PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")
_FORM_SALT = "trace.public.report"
UNIX = "unix"  # in TRUSTED_PROXIES: a proxy connected over a Unix socket (no peer address)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Proxies:
    """The parsed ``TRUSTED_PROXIES`` setting."""

    def __init__(self, setting: str) -> None:
        words = setting.replace(",", " ").split()
        self.unix = UNIX in words
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(word, strict=False) for word in words if word != UNIX
        )

    def __bool__(self) -> bool:
        return self.unix or bool(self.networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


@lru_cache(maxsize=8)
def proxies(setting: str) -> Proxies:
    """``TRUSTED_PROXIES`` parsed (once per distinct value); raises ValueError when malformed."""
    return Proxies(setting)


def parse_address(text: str) -> Address | None:
    """An address as a socket or a proxy writes it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``,
    ``::ffff:1.2.3.4``), or ``None``. An IPv4-mapped IPv6 address is its IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_from(environ: dict[str, object], trusted: Proxies) -> str:
    """The client's address from a WSGI environ (see :func:`client_address`)."""
    remote = str(environ.get("REMOTE_ADDR") or "")
    peer = parse_address(remote) if remote else None
    if not trusted:
        return str(peer) if peer is not None else remote
    behind_proxy = trusted.trusts(peer) if peer is not None else trusted.unix and not remote
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    if not behind_proxy or not forwarded:
        return str(peer) if peer is not None else remote
    last = str(peer) if peer is not None else remote
    for part in reversed(forwarded.split(",")):
        hop = parse_address(part)
        if hop is None:
            break  # garbage a trusted proxy passed on: the last hop we can vouch for is it
        last = str(hop)
        if not trusted.trusts(hop):
            return last
    return last


def client_address(req: Request | None = None) -> str:
    """The address of the client that sent ``req`` (default: the current request): the TCP
    peer, or, when the peer is a trusted proxy, the rightmost untrusted ``X-Forwarded-For``
    entry. Used for scans, the report limit and sign-in lockout alike."""
    environ = (req if req is not None else request).environ
    trusted = str(current_app.config.get("TRUSTED_PROXIES") or "")
    remote = str(environ.get("REMOTE_ADDR") or "")
    # X-Forwarded-For only counts behind a trusted proxy: otherwise it is no part of the answer
    # (nor of the cache key a client could fill with headers of its own making).
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "") if trusted else ""
    if len(forwarded) > CACHED_HEADER_LENGTH:  # parsed, never kept: a client can make up many
        return _address.__wrapped__(remote, forwarded, trusted)
    return _address(remote, forwarded, trusted)


CACHED_HEADER_LENGTH = 256  # longer headers are parsed each time, never kept


@lru_cache(maxsize=4096)
def _address(remote: str, forwarded: str, trusted: str) -> str:
    """:func:`address_from` for these headers and setting, parsed once while they recur (every
    page view asks; most of them come from a few proxies and phones)."""
    return address_from(
        {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}, proxies(trusted)
    )


@lru_cache(maxsize=4096)
def client_key(address: str) -> str:
    """What identifies one client: its IPv4 address, or its IPv6 /64 (a client is given at
    least a /64 and can pick any address in it)."""
    if ":" not in address:
        return address
    parsed = parse_address(address)
    if not isinstance(parsed, ipaddress.IPv6Address):
        return address if parsed is None else str(parsed)
    network = ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64))
    return str(network)


def client_hash() -> str:
    """Today's salted hash of this request's client."""
    return scans.client_hash(current_app.secret_key or "", client_key(client_address()))


def client_hashes() -> tuple[str, str]:
    """Today's and yesterday's hash of this request's client."""
    return scans.client_hashes(current_app.secret_key or "", client_key(client_address()))


def arg(name: str) -> str:
    """A query parameter, or ""; most scans carry no query string, and then nothing is parsed
    (werkzeug's ``args.get`` builds an exception for every absent key)."""
    if not request.environ.get("QUERY_STRING"):
        return ""
    return str(request.args.get(name, ""))


def is_prefetch() -> bool:
    """A browser prefetch or link preview, not a person looking at the page."""
    environ = request.environ
    for header in _PREFETCH_HEADERS:
        value = environ.get(header)
        if value and any(word in value.lower() for word in ("prefetch", "preview", "prerender")):
            return True
    return False


def counts_as_scan() -> bool:
    return request.environ["REQUEST_METHOD"] == "GET" and not is_prefetch()


def offered_province() -> str | None:
    """A coarse place, only when the client offers one (``?province=<2-digit code>``). Kept as
    information only: a client can offer any province, so it never raises a copy warning."""
    code = arg("province").strip()
    return code if code in PROVINCES else None


# Report form tokens -------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.secret_key or "")


@lru_cache(maxsize=8)
def _serializer_for(secret: str | bytes) -> URLSafeTimedSerializer:
    """One serializer per secret key, not one per token: building it (its signer's key
    derivation is per call anyway) cost a third of a first view's page fill. Its tokens are
    the same."""
    return URLSafeTimedSerializer(secret, salt=_FORM_SALT)


def form_max_age() -> int:
    return int(current_app.config["PUBLIC_FORM_MAX_AGE"])


def token_period() -> int:
    """Which period of a quarter of the tokens' lifetime it is. A page carrying a form token is
    cached, and answered with 304, only within the period its token was signed in (the period is
    part of the cache key and the ETag), so no page shown is older than a quarter of the
    token's lifetime, and a consumer has at least three quarters of it left to send the form."""
    return int(time.time() // _period_seconds(form_max_age()))


def _period_seconds(max_age: int) -> int:
    return max(1, max_age // 4)


def token_period_start(period: int, max_age: int) -> dt.datetime:
    """When :func:`token_period` ``period`` of tokens living ``max_age`` seconds began: a page's
    Last-Modified is no earlier."""
    return dt.datetime.fromtimestamp(period * _period_seconds(max_age), dt.UTC)


def form_token(code: str) -> str:
    """A signed, timestamped token for the report form of ``code`` (the CSRF token): the
    token ``URLSafeTimedSerializer.dumps`` makes (and :func:`valid_form_token` reads), signed
    with the serializer's own derived key, from an HMAC keyed once per secret. Every first view
    of a code signs one; the serializer built a signer and derived its key on each."""
    payload = base64_encode(json.dumps(code, separators=(",", ":")).encode())
    value = payload + b"." + base64_encode(int_to_bytes(int(time.time())))
    mac = _form_mac(current_app.secret_key or "").copy()
    mac.update(value)
    return (value + b"." + base64_encode(mac.digest())).decode()


@lru_cache(maxsize=8)
def _form_mac(secret: str | bytes) -> hmac.HMAC:
    signer = _serializer_for(secret).make_signer(_FORM_SALT)
    return hmac.new(signer.derive_key(), digestmod=signer.digest_method)


def valid_form_token(token: str, code: str) -> bool:
    try:
        return _serializer().loads(token, max_age=form_max_age()) == code
    except BadSignature:  # SignatureExpired included
        return False
