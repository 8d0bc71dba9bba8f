"""The declared graph: its order, the parts a command selects, and teardown's order (the same graph backwards)."""

from __future__ import annotations

import pytest

from mysfits_cli.errors import MysfitsError
from mysfits_cli.graph import Graph, Node
from mysfits_cli.options import UpOptions
from mysfits_cli.stack import GRAPH


def _node(key, part, needs=(), **extra):
    return Node(key, key, part, lambda run: None, tuple(needs), kind=extra.pop("kind", "k"),
                plan=extra.pop("plan", lambda run: None), **extra)


def test_what_is_needed_comes_first_and_a_cycle_or_an_unknown_need_is_refused():
    graph = Graph([_node("b", "x", ["a"]), _node("a", "x"), _node("c", "y")])
    assert [n.key for n in graph.order] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cycle"):
        Graph([_node("a", "x", ["b"]), _node("b", "x", ["a"])])
    with pytest.raises(ValueError, match="needs z"):
        Graph([_node("a", "x", ["z"])])


def test_the_stack_s_graph_orders_every_part_after_what_it_needs():
    position = GRAPH.position
    for node in GRAPH.order:
        assert all(position[need] < position[node.key] for need in node.needs), node.key
    assert GRAPH.parts == ["api", "notebook", "train", "endpoint", "recommendations", "web"]


def test_a_part_brings_what_it_shares_and_reads_the_rest_from_the_state():
    selection = GRAPH.select(["endpoint"], [], UpOptions())
    keys = selection.keys
    assert "sagemaker.role" in keys and "endpoint.endpoint" in keys and "train.job" not in keys
    assert [n.key for n in selection.external] == ["train.job"]  # only what the part needs directly


def test_switched_off_nodes_are_neither_run_nor_needed_from_the_state():
    selection = GRAPH.select(["notebook"], [], UpOptions(repository=False))
    assert "notebook.repository" not in selection.keys and "notebook.repository" in selection.disabled
    assert selection.external == []


def test_unknown_parts_are_named():
    with pytest.raises(MysfitsError, match="Unknown part bogus: choose from api, notebook"):
        GRAPH.select(["bogus"], [], UpOptions())


def test_teardown_deletes_dependents_before_what_they_need():
    position = GRAPH.teardown_position
    assert position("web.page", "web-page") < position("api.rest-api", "rest-api") < position("api.vpc-link", "vpc-link")
    assert position("endpoint.endpoint", "endpoint") < position("endpoint.config", "endpoint-config") \
        < position("endpoint.model", "model") < position("sagemaker.role", "iam-role")
    # a record under a key the graph does not know is placed by its kind
    assert position("old.key", "vpc-link") == position("api.vpc-link", "vpc-link")
