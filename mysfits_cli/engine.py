"""Resources that converge: find (by recorded id, then by name), else create; save; wait; converge.

Each kind of AWS resource is a `Resource` subclass in `mysfits_cli.resources`. The graph
(`mysfits_cli.stack`) says which resources the stack wants and what each needs; the runner
(`mysfits_cli.runner`) walks it and calls `ensure`, `preview` or `delete_record` here.

Intent before action: before a create, the resource's name goes into the state as a pending
record, so a command killed right after AWS acted, and before it heard, leaves the name the
re-run looks the resource up by. The state never forgets what AWS may have made.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterator

from . import ui
from .aws import Aws, is_not_found
from .config import Settings
from .errors import MysfitsError
from .permissions import Permission, allow
from .state import StackState, node_of

Record = dict[str, Any]
# A call that sets one drifted property; it may return fields to merge into the record.
Fix = Callable[[], "Record | None"]
PENDING = "pending"


def fix(call: Callable[..., Any], **kwargs: Any) -> Fix:
    """A fix that is one AWS call, changing nothing in the record."""

    def run() -> None:
        call(**kwargs)

    return run


@dataclass
class Context:
    settings: Settings
    aws: Aws
    state: StackState

    @property
    def stack(self) -> str:
        return self.settings.stack


class Resource(ABC):
    """One AWS resource with a name. Subclasses fill in the AWS calls."""

    kind: ClassVar[str]
    # False where AWS gives the resource an id of its own (REST APIs, VPC links): a pending
    # record of those is found again by name only.
    id_is_name: ClassVar[bool] = True
    registry: ClassVar[dict[str, type["Resource"]]] = {}
    # What makes a resource with a generated name the one wanted (the artifact a model serves ...):
    # kept in its intent and record, so a re-run knows whether a recorded name is still the one.
    identity: Record | None = None
    # What the kind's status, delete and identities read from a record, besides its kind and name.
    # An intent holds them when they are known before the create (`known_fields`); a record that
    # lacks one (an intent whose id AWS never told, or one an older mysfits wrote) is only a name.
    record_fields: ClassVar[tuple[str, ...]] = ("id",)
    # The IAM actions `ensure` calls on it (see `permissions`): always (finding it and checking what
    # drifted), to create it, and to set each drifted property (keyed as `drift` keys them).
    reads: ClassVar[tuple[str, ...]] = ()
    creates: ClassVar[tuple[str, ...]] = ()
    fixes: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            Resource.registry[cls.kind] = cls

    def __init__(self, key: str, name: str):
        self.key = key
        self.name = name

    def known_fields(self) -> Record:
        """The fields of its record known before it is created: written into its intent."""
        return {"id": self.name} if self.id_is_name else {}

    @abstractmethod
    def lookup(self, ctx: Context, recorded: Record | None) -> Record | None:
        """The live resource as a record, found by the recorded id first, then by name."""

    @abstractmethod
    def create(self, ctx: Context) -> Record:
        """Create the resource and return its record (id, arn, ...)."""

    def wait(self, ctx: Context, record: Record) -> Record:
        return record

    def drift(self, ctx: Context, record: Record) -> dict[str, Fix]:
        """Each owned property of a found resource that differs from what is wanted, with the call that sets it.

        Read-only: `plan` lists the keys, `converge` calls the fixes.
        """
        return {}

    def replacement(self, ctx: Context, record: Record) -> str | None:
        """Why the found resource cannot be brought in line in place (and what to do), or None.

        mysfits never replaces such a resource by itself: it warns, and `plan` shows it.
        """
        return None

    def converge(self, ctx: Context, record: Record) -> Record | None:
        """Bring a found resource in line with what is wanted; the new record, or None if it already was."""
        reason = self.replacement(ctx, record)
        if reason:
            ui.warn(f"{_label(self)} is kept as it is: {reason}")
        fixes = self.drift(ctx, record)
        if not fixes:
            return None
        for fix in fixes.values():
            record = {**record, **(fix() or {})}
        return record

    def planned(self, ctx: Context) -> Record:
        """What is known of it before it exists, besides its name (an IAM role's ARN), for `plan`."""
        return {}

    def arn(self, ctx: Context) -> str:
        """The ARN IAM's policies know it by (for the permission forecast)."""
        return "*"

    def permissions(self, ctx: Context, change: Change) -> list[Permission]:
        """What `ensure` would be allowed to do to bring it to what `plan` says (`change`)."""
        actions = list(self.reads)
        if change.action in CREATING:
            actions += self.creates
        for drifted in change.fields:
            actions += self.fixes.get(drifted, ())
        return allow(dict.fromkeys(actions), self.arn(ctx))

    @classmethod
    @abstractmethod
    def delete(cls, ctx: Context, record: Record) -> str | None:
        """Delete it; raising a not-found error counts as deleted.

        Returns what it did when that is not simply deleting it, as a sentence with `{label}`.
        """

    @classmethod
    @abstractmethod
    def status(cls, ctx: Context, record: Record) -> str | None:
        """The live state, or None when the resource is gone."""

    @classmethod
    def leftovers(cls, ctx: Context) -> list[Record]:
        """Resources of this kind that belong to the stack (by name or tag), for teardown after a lost state."""
        return []

    @classmethod
    def identities(cls, record: Record) -> set[str]:
        """What a record stands for, to tell a leftover from what is recorded already."""
        return {str(record.get("id") or record.get("name"))}


def _label(resource: Resource) -> str:
    return f"{resource.kind} {resource.name}"


def intent(resource: Resource) -> Record:
    record: Record = {"kind": resource.kind, "name": resource.name, PENDING: "create",
                      "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), **resource.known_fields()}
    if resource.identity is not None:
        record["identity"] = resource.identity
    return record


def generated_name(ctx: Context, key: str, identity: Record | None, make: Callable[[], str]) -> str:
    """The recorded name (or intent) of `key` when it stands for the same `identity`; else a new name from `make`."""
    recorded = ctx.state.get(key)
    if recorded and recorded.get("identity") == identity and recorded.get("name"):
        return recorded["name"]
    # names carry the time to the second: one made again within the same second gets a suffix
    taken = {record.get("name") for k, record in ctx.state.items() if node_of(k) == key}
    name, suffix = make(), 1
    while name in taken:
        suffix += 1
        name = f"{make()}-{suffix}"
    return name


def is_pending(record: Record | None) -> bool:
    return bool(record) and record.get(PENDING) == "create"


def is_complete(record: Record) -> bool:
    """Whether the record holds every field its kind reads; if not, it is the intent to create a name."""
    cls = Resource.registry.get(record.get("kind", ""))
    return cls is not None and all(name in record for name in cls.record_fields)


def identities(record: Record) -> set[str]:
    """What a record stands for, to tell a resource found by name or tag from one recorded already."""
    cls = Resource.registry.get(record.get("kind", ""))
    if cls is None or not is_complete(record):
        return {str(record.get("id") or record.get("name"))}
    return cls.identities(record)


_journal = threading.local()


@contextlib.contextmanager
def journal() -> Iterator[list[tuple[str, str]]]:
    """Collect what `ensure` does in this thread: (resource, created | updated | unchanged)."""
    entries: list[tuple[str, str]] = []
    previous = getattr(_journal, "entries", None)
    _journal.entries = entries
    try:
        yield entries
    finally:
        _journal.entries = previous


def note(label: str, action: str) -> None:
    entries = getattr(_journal, "entries", None)
    if entries is not None:
        entries.append((label, action))


def ensure(ctx: Context, resource: Resource) -> Record:
    """Find or create one resource, record it at once, wait until it is usable, converge it."""
    ui.board.relabel(_label(resource))
    recorded = ctx.state.get(resource.key)
    if recorded and not is_pending(recorded) and recorded.get("name") not in (None, resource.name):
        ctx.state.retire(resource.key)  # superseded: deleted once its replacement serves
        recorded = None
    ui.report("looking up")
    record = resource.lookup(ctx, recorded)
    action = "unchanged"
    if record is None:
        ui.board.check_cancelled()
        ui.report("creating")
        ui.step(f"Creating {_label(resource)}")
        ctx.state.put(resource.key, intent(resource))
        try:
            record = resource.create(ctx)
        except Exception as exc:
            if refused_create(exc):
                ctx.state.remove(resource.key)  # AWS said no: nothing was made, nothing to look for
            raise
        action = "created"
    record = _tagged(resource, record)
    ctx.state.put(resource.key, record)
    record = _tagged(resource, resource.wait(ctx, record))
    ctx.state.put(resource.key, record)
    ui.report("checking")
    updated = resource.converge(ctx, record)
    if updated is not None:
        record = _tagged(resource, updated)
        ctx.state.put(resource.key, record)
        action = "updated" if action == "unchanged" else action
    note(_label(resource), action)
    return record


def refused_create(exc: Exception) -> bool:
    """AWS answered a create call with a client error: it made nothing (a timeout or a 5xx may have)."""
    response = getattr(exc, "response", None) or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    return str(getattr(exc, "operation_name", "")).startswith("Create") and 400 <= status < 500


def _tagged(resource: Resource, record: Record) -> Record:
    record = {k: v for k, v in record.items() if k not in (PENDING, "since", "delete_error")}
    record = {**record, "kind": resource.kind, "name": record.get("name", resource.name)}
    if resource.identity is not None:
        record["identity"] = resource.identity
    return record


# Plan actions after which the resource is made anew.
CREATING = ("create", "replace")


@dataclass
class Change:
    """What applying one part of the stack would do."""

    action: str  # create | update | replace | unchanged | run | read | skip
    fields: list[str] = field(default_factory=list)
    note: str | None = None

    def describe(self) -> str:
        text = self.action
        if self.fields:
            text += f" ({', '.join(self.fields)})"
        if self.note:
            text += f": {self.note}"
        return text


def preview(ctx: Context, resource: Resource) -> tuple[Change, Record]:
    """What `ensure` would do to this resource, without doing it; and its record as known now."""
    recorded = ctx.state.get(resource.key)
    renamed = bool(recorded) and not is_pending(recorded) and recorded.get("name") not in (None, resource.name)
    record = resource.lookup(ctx, None if renamed else recorded)
    if record is None:
        action = "replace" if renamed else "create"
        note = f"replaces {recorded.get('name')}" if renamed else None
        known = {"name": resource.name, **resource.known_fields(), **resource.planned(ctx)}
        return Change(action, note=note), Unknown(**known, **(resource.identity or {}))
    record = _tagged(resource, record)
    reason = resource.replacement(ctx, record)
    if reason:
        return Change("replace", note=reason), record
    fields = list(resource.drift(ctx, record))
    return Change("update" if fields else "unchanged", fields), record


KNOWN_AFTER_APPLY = "(known after apply)"


class Unknown(dict):
    """The record of a resource `plan` would create: what is not known yet reads as KNOWN_AFTER_APPLY."""

    def __missing__(self, key: str) -> str:
        return KNOWN_AFTER_APPLY

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def delete_record(ctx: Context, key: str | None, record: Record) -> str:
    """Delete one recorded (or found) resource and forget it; what happened, as a sentence.

    Not found counts as deleted. A failure stays in the state with its reason and is raised.
    """
    label = f"{record.get('kind')} {record.get('name') or record.get('id')}"
    cls = Resource.registry.get(record.get("kind", ""))
    if cls is None:
        raise MysfitsError(f"unknown kind {record.get('kind')!r} in the state file")
    if not is_complete(record):
        # the intent to create a name, whose id AWS never told: teardown's sweep by name finds it, if it exists
        if key is not None:
            ctx.state.remove(key)
        return f"Forgot the intent to create {label}"
    try:
        outcome = cls.delete(ctx, record) or "Deleted {label}"
    except Exception as exc:  # noqa: BLE001 - the caller decides whether to go on
        if not is_not_found(exc):
            reason = str(exc) if isinstance(exc, MysfitsError) else one_line(exc)
            if key is not None:
                ctx.state.put(key, {**record, "delete_error": reason})
            raise
        outcome = "{label} was already gone"
    if key is not None:
        ctx.state.remove(key)
    return outcome.replace("{label}", label)


def one_line(exc: BaseException) -> str:
    from .failures import describe

    return describe(exc)
