"""The parts of a stack and what each needs: declared once, read by up, plan, status and teardown.

A `Node` is one resource (or one look-up of something the workshop built earlier, or one
action such as the evaluation) with the nodes it needs. `Graph` orders them (what is needed
comes first; ties keep the declaration order), picks the nodes a command works on, and
gives teardown its order: the same graph, read backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import MysfitsError

if TYPE_CHECKING:
    from .engine import Change, Context
    from .permissions import Permission


@dataclass
class Run:
    """What a node's functions get: the command's context and options, and what its needs produced."""

    ctx: "Context"
    options: Any
    inputs: dict[str, Any]
    planning: bool = False
    # what a node's functions built for this run, kept so that `plan` and the forecast build it once
    built: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def once(self, key: str, build: Callable[["Run"], Any]) -> Any:
        if key not in self.built:
            self.built[key] = build(self)
        return self.built[key]


PROPER_NOUNS = {"Mysfits", "Cognito", "SageMaker", "CodeCommit", "CloudFront"}


@dataclass(frozen=True)
class Node:
    key: str
    title: str
    # a part a user names (`up --only api`), or None for what several parts share: a shared
    # node comes along with whatever needs it
    part: str | None
    apply: Callable[[Run], Any]
    needs: tuple[str, ...] = ()
    kind: str | None = None  # the resource kind it records; None for look-ups and actions
    # what `plan` says, and the output dependents plan with; None: a look-up, run as in apply
    plan: Callable[[Run], tuple["Change", Any]] | None = None
    enabled: Callable[[Any], bool] = field(default=lambda options: True)
    # retired records of this node are deleted once this node has succeeded (default: the node itself)
    sweep_after: str | None = None
    # AWS refuses to delete it while something that needs it exists (a VPC link an API uses):
    # when deleting a dependent failed, teardown keeps it instead of waiting in vain
    held_by_dependents: bool = False
    # what dependents get when this node is not among those run: its record, checked (None: as recorded)
    from_state: Callable[["Context", dict], Any] | None = None
    # what can be checked before anything is created (the data file, the instance type): raises MysfitsError
    check: Callable[["Context", Any], None] | None = None
    # what it runs on while it bills by the hour, for `plan`: (use, instance type, count), or None when it will not bill
    bills: Callable[[Run], tuple[str, str, int] | None] | None = None
    # the plan actions on which it starts anew what it `bills` for: what it takes of the account's quotas
    starts: tuple[str, ...] = ()
    # the IAM actions it calls, on which resources, to do what `plan` says it would (the `Change`)
    permissions: Callable[[Run, "Change"], list["Permission"]] | None = None

    @property
    def noun(self) -> str:
        """The title inside a sentence: "training job", but "Mysfits API" and "VPC link" as they are."""
        first = self.title.split(" ", 1)[0]
        if first[1:].islower() and first not in PROPER_NOUNS:
            return self.title[0].lower() + self.title[1:]
        return self.title

    @property
    def is_lookup(self) -> bool:
        """Reads what exists and records nothing: always runs, even outside the selected parts."""
        return self.kind is None and self.plan is None


class Graph:
    def __init__(self, nodes: Iterable[Node]):
        self.nodes: dict[str, Node] = {}
        for node in nodes:
            if node.key in self.nodes:
                raise ValueError(f"node {node.key} is declared twice")
            self.nodes[node.key] = node
        for node in self.nodes.values():
            for need in node.needs:
                if need not in self.nodes:
                    raise ValueError(f"node {node.key} needs {need}, which is not declared")
        self.order = self._topological()
        self.position = {node.key: index for index, node in enumerate(self.order)}

    def _topological(self) -> list[Node]:
        declared = list(self.nodes)
        placed: list[Node] = []
        done: set[str] = set()
        while len(placed) < len(declared):
            ready = [k for k in declared if k not in done and all(n in done for n in self.nodes[k].needs)]
            if not ready:
                cycle = [k for k in declared if k not in done]
                raise ValueError(f"the graph has a cycle among {', '.join(cycle)}")
            placed.append(self.nodes[ready[0]])
            done.add(ready[0])
        return placed

    def __getitem__(self, key: str) -> Node:
        return self.nodes[key]

    def get(self, key: str) -> Node | None:
        return self.nodes.get(key)

    @property
    def parts(self) -> list[str]:
        """The parts a user can name, in the order they come up."""
        seen: list[str] = []
        for node in self.order:
            if node.part and node.part not in seen:
                seen.append(node.part)
        return seen

    def dependents(self, key: str) -> set[str]:
        """Every node that needs `key`, directly or through others."""
        found: set[str] = set()
        frontier = [key]
        while frontier:
            current = frontier.pop()
            for node in self.order:
                if current in node.needs and node.key not in found:
                    found.add(node.key)
                    frontier.append(node.key)
        return found

    def requirements(self, keys: Iterable[str]) -> set[str]:
        """Every node the given ones need, directly or through others."""
        found: set[str] = set()
        frontier = list(keys)
        while frontier:
            for need in self.nodes[frontier.pop()].needs:
                if need not in found:
                    found.add(need)
                    frontier.append(need)
        return found

    def select(self, only: Iterable[str] | None, skip: Iterable[str], options: Any) -> "Selection":
        only, skip = set(only or []), set(skip)
        unknown = (only | skip) - set(self.parts)
        if unknown:
            raise MysfitsError(
                f"Unknown part{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}: "
                f"choose from {', '.join(self.parts)}"
            )
        wanted = {
            node.key for node in self.order
            if node.part and (not only or node.part in only) and node.part not in skip and node.enabled(options)
        }
        disabled = {node.key for node in self.order if not node.enabled(options)}
        while True:  # what the wanted nodes share, and what those need in turn
            extra = {
                key for key in self.requirements(wanted) - wanted - disabled
                if self.nodes[key].part is None or self.nodes[key].is_lookup
            }
            if not extra:
                break
            wanted |= extra
        ordered = [node for node in self.order if node.key in wanted]
        frontier = {need for key in wanted for need in self.nodes[key].needs} - wanted - disabled
        external = sorted(frontier, key=self.position.__getitem__)
        return Selection(ordered, [self.nodes[k] for k in external], disabled)

    def teardown_position(self, key: str | None, kind: str | None) -> int:
        """Where a record is deleted: dependents before what they need; an unknown key by its kind."""
        if key in self.position:
            return len(self.order) - self.position[key]
        same_kind = [self.position[n.key] for n in self.order if n.kind == kind]
        return len(self.order) - (max(same_kind) if same_kind else len(self.order))

    def node_for(self, key: str | None, kind: str | None) -> Node | None:
        if key in self.nodes:
            return self.nodes[key]
        return next((n for n in reversed(self.order) if n.kind == kind), None)


@dataclass
class Selection:
    nodes: list[Node]  # to run, in order
    external: list[Node]  # needed but not selected: their records come from the state
    disabled: set[str] = field(default_factory=set)  # switched off by the options: count as done, with no output

    @property
    def keys(self) -> list[str]:
        return [node.key for node in self.nodes]

    def without(self, done: Iterable[str]) -> "Selection":
        """The same selection less the nodes already done."""
        done = set(done)
        return Selection([n for n in self.nodes if n.key not in done], self.external, self.disabled)
