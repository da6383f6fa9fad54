"""The genealogy graph laid out for inline SVG: columns of boxes, inputs left, outputs right.

Pure geometry over plain values; the template draws it and escapes every text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 180, 54, 60, 18, 16


@dataclass(frozen=True)
class Box:
    """What one batch's box shows."""

    batch_id: int
    lot_code: str
    product: str
    producer: str
    status: str


@dataclass(frozen=True)
class SvgNode:
    batch_id: int
    x: int
    y: int
    lot_code: str
    product: str
    producer: str
    status: str
    root: bool


@dataclass(frozen=True)
class SvgEdge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class SvgGraph:
    width: int
    height: int
    nodes: list[SvgNode]
    edges: list[SvgEdge]
    truncated: bool


def _short(text: str, length: int = 26) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def layout(
    columns: Mapping[int, Sequence[Box]],
    links: Iterable[tuple[int, int]],
    root_id: int,
    truncated: bool,
) -> SvgGraph:
    """Place ``columns`` (keyed by signed depth: inputs negative, outputs positive) left to
    right, each centred vertically; ``links`` are (input, output) batch ids, drawn between the
    boxes that were placed."""
    order = sorted(columns)
    tallest = max(len(c) for c in columns.values())
    width = 2 * MARGIN + len(order) * NODE_W + (len(order) - 1) * GAP_X
    height = 2 * MARGIN + tallest * NODE_H + (tallest - 1) * GAP_Y
    placed: dict[int, SvgNode] = {}
    for index, column in enumerate(order):
        x = MARGIN + index * (NODE_W + GAP_X)
        boxes = columns[column]
        top = MARGIN + (tallest - len(boxes)) * (NODE_H + GAP_Y) // 2
        for row, box in enumerate(boxes):
            placed[box.batch_id] = SvgNode(
                box.batch_id,
                x,
                top + row * (NODE_H + GAP_Y),
                _short(box.lot_code),
                _short(box.product),
                _short(box.producer),
                box.status,
                box.batch_id == root_id,
            )
    edges = []
    for edge in set(links):
        a, b = placed.get(edge[0]), placed.get(edge[1])
        if a is None or b is None:
            continue
        edges.append(SvgEdge(a.x + NODE_W, a.y + NODE_H // 2, b.x, b.y + NODE_H // 2))
    return SvgGraph(width, height, list(placed.values()), edges, truncated)
