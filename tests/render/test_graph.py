"""The genealogy graph's layout, on plain values (no database)."""

from __future__ import annotations

from trace.render.graph import GAP_X, MARGIN, NODE_H, NODE_W, Box, layout


def box(batch_id: int, lot: str = "LOT") -> Box:
    return Box(batch_id, lot, "Vải thiều", "HTX Lục Ngạn", "active")


def test_inputs_left_outputs_right_the_root_marked_and_edges_between_placed_boxes() -> None:
    columns = {-1: [box(1), box(2)], 0: [box(3)], 1: [box(4, "L" * 40)]}
    graph = layout(columns, [(1, 3), (2, 3), (3, 4), (3, 99)], root_id=3, truncated=False)

    placed = {node.batch_id: node for node in graph.nodes}
    assert [placed[i].x for i in (1, 3, 4)] == [MARGIN + i * (NODE_W + GAP_X) for i in range(3)]
    assert graph.width == 2 * MARGIN + 3 * NODE_W + 2 * GAP_X
    assert [node.batch_id for node in graph.nodes if node.root] == [3]
    assert placed[3].y > placed[1].y  # a shorter column is centred
    assert placed[4].lot_code == "L" * 25 + "…"
    assert len(graph.edges) == 3  # the edge to an unplaced batch is left out
    assert {(e.x1, e.y1) for e in graph.edges if e.x2 == placed[4].x} == {
        (placed[3].x + NODE_W, placed[3].y + NODE_H // 2)
    }
    assert graph.truncated is False
