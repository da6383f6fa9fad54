"""GS1 Digital Link resolver parts: the RFC 9264 linkset of an item and the resolver
description at ``/.well-known/gs1resolver``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from trace.gs1 import CANONICAL_BASE, build_digital_link

GS1_VOC = "https://ref.gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
LINK_TYPES = {
    "pip": "gs1:pip",
    "traceability": "gs1:traceability",
    "recall": "gs1:recallStatus",
    "passport": "gs1:dpp",
}
#: linkType values that mean "the page itself".
PAGE_LINK_TYPES = frozenset({"", "gs1:pip", "gs1:defaultLink", "gs1:defaultLinkMulti"})
LINKSET_LINK_TYPES = frozenset({"linkset", "all", "gs1:linkset"})


def _link(href: str, title: str, mime: str, langs: bool = True) -> dict[str, Any]:
    link: dict[str, Any] = {"href": href, "title": title, "type": mime}
    if langs:
        link["hreflang"] = ["vi", "en"]
    return link


def _with_query(href: str, query: str) -> str:
    return href + ("&" if "?" in href else "?") + query


def item_links(page_url: str, title: str, *, with_recall: bool) -> dict[str, Any]:
    """The links of one identified item: the page, its history, its recall status."""
    links: dict[str, Any] = {
        GS1_VOC + "pip": [_link(page_url, f"{title} — thông tin sản phẩm", "text/html")],
        GS1_VOC + "traceability": [
            _link(
                _with_query(page_url, "linkType=gs1:traceability"),
                f"{title} — hành trình sản phẩm / traceability",
                "text/html",
            )
        ],
        GS1_VOC + "defaultLink": [_link(page_url, title, "text/html")],
    }
    if with_recall:  # the levels naming a lot: they also have a passport
        links[GS1_VOC + "dpp"] = [
            _link(
                _with_query(page_url, "linkType=gs1:dpp"),
                f"{title} — hộ chiếu số sản phẩm / digital product passport",
                "application/json",
            )
        ]
        links[GS1_VOC + "recallStatus"] = [
            _link(
                _with_query(page_url, "linkType=gs1:recallStatus"),
                f"{title} — recall status",
                "application/json",
                langs=False,
            )
        ]
    return links


def gs1_anchor(ais: list[tuple[str, str]]) -> str:
    """The uncompressed canonical Digital Link of the given path AIs (id.gs1.org)."""
    return build_digital_link(CANONICAL_BASE, ais[0], ais[1:])


def own_path(ais: list[tuple[str, str]]) -> str:
    return "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in ais)


def linkset(levels: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """``levels``: (anchor, page URL, description, has recall status) from the most specific
    level up to the primary key, as GS1 asks for a request with key qualifiers."""
    return {
        "linkset": [
            {
                "anchor": anchor,
                "itemDescription": description,
                **item_links(page_url, description, with_recall=recall),
            }
            for anchor, page_url, description, recall in levels
        ]
    }


def description(public_url: str) -> dict[str, Any]:
    """The resolver description file (GS1-Conformant resolver standard, section 6)."""
    return {
        "name": "Trace — truy xuất nguồn gốc sản phẩm",
        "resolverRoot": public_url,
        "supportedPrimaryKeys": ["01", "414"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": GS1_VOC + "?show=linktypes"}
        ],
        "linkTypeDefaultCanBeLinkset": False,
        "linkTypes": sorted(
            ["gs1:pip", "gs1:traceability", "gs1:recallStatus", "gs1:defaultLink", "gs1:dpp"]
        ),
        "shortCodeTemplate": public_url + "/q/{code}",
        "languages": ["vi", "en"],
    }
