"""Who is asking, as far as the public side needs to know: a salted hash, never an address."""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from trace.provinces import PROVINCES
from trace.services import scans

_PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")
_FORM_SALT = "trace.public.report"


def _identity() -> tuple[str, str]:
    environ = request.environ  # read directly: this runs on every page view
    return environ.get("REMOTE_ADDR") or "", environ.get("HTTP_USER_AGENT", "")[:300]


def client_hash() -> str:
    return scans.client_hash(current_app.secret_key or "", *_identity())


def client_hashes() -> tuple[str, str]:
    return scans.client_hashes(current_app.secret_key or "", *_identity())


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
    """A coarse place, only when the client offers one (``?province=<2-digit code>``)."""
    code = arg("province").strip()
    return code if code in PROVINCES else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_FORM_SALT)


def form_token(code: str) -> str:
    """A signed, timestamped token for the report form of ``code`` (the CSRF token)."""
    return str(_serializer().dumps(code))


def valid_form_token(token: str, code: str) -> bool:
    max_age = int(current_app.config.get("PUBLIC_FORM_MAX_AGE", 7 * 24 * 3600))
    try:
        return _serializer().loads(token, max_age=max_age) == code
    except BadSignature:
        return False
