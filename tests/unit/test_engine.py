"""The convergence engine: intents before creates, names made once, refusals forgotten, drift both read and fixed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mysfits_cli.engine import Resource, ensure, generated_name, intent, is_pending, preview


class Thing(Resource):
    """A resource kept in a dict, standing for one AWS would keep."""

    kind = "test-thing"
    live: dict[str, dict] = {}

    def __init__(self, key, name, colour="blue", refuse=None):
        super().__init__(key, name)
        self.colour, self.refuse, self.creates = colour, refuse, 0

    def lookup(self, ctx, recorded):
        return dict(self.live[self.name]) if self.name in self.live else None

    def create(self, ctx):
        self.creates += 1
        if self.refuse:
            raise self.refuse
        self.live[self.name] = {"id": self.name, "colour": "grey"}
        return dict(self.live[self.name])

    def drift(self, ctx, record):
        if record.get("colour") == self.colour:
            return {}

        def paint():
            self.live[self.name]["colour"] = self.colour
            return {"colour": self.colour}

        return {"colour": paint}

    @classmethod
    def delete(cls, ctx, record):
        cls.live.pop(record["id"], None)

    @classmethod
    def status(cls, ctx, record):
        return "EXISTS" if record["id"] in cls.live else None


@pytest.fixture(autouse=True)
def empty():
    Thing.live = {}


def test_the_intent_is_in_the_state_before_the_create_call(ctx):
    seen = []

    class Watched(Thing):
        def create(self, ctx_):
            seen.append(ctx_.state.get("t"))
            return super().create(ctx_)

    record = ensure(ctx, Watched("t", "thing-1"))
    assert is_pending(seen[0]) and seen[0]["name"] == "thing-1"
    assert not is_pending(record) and record["colour"] == "blue"  # created, then converged


def test_a_create_aws_refused_leaves_no_intent_and_one_it_may_have_done_keeps_it(ctx):
    refused = ClientError({"Error": {"Code": "ValidationException", "Message": "no"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateThing")
    with pytest.raises(ClientError):
        ensure(ctx, Thing("t", "thing-1", refuse=refused))
    assert ctx.state.get("t") is None
    timeout = ConnectionError("the answer never came")
    with pytest.raises(ConnectionError):
        ensure(ctx, Thing("t", "thing-1", refuse=timeout))
    assert is_pending(ctx.state.get("t"))  # AWS may have made it: the re-run looks it up by this name


def test_a_resource_found_after_a_kill_is_adopted_and_converged_not_made_again(ctx):
    ctx.state.put("t", intent(Thing("t", "thing-1")))
    Thing.live["thing-1"] = {"id": "thing-1", "colour": "grey"}  # made by the killed run
    again = Thing("t", "thing-1")
    assert ensure(ctx, again)["colour"] == "blue" and again.creates == 0


def test_preview_says_create_update_or_unchanged_and_changes_nothing(ctx):
    assert preview(ctx, Thing("t", "thing-1"))[0].action == "create"
    Thing.live["thing-1"] = {"id": "thing-1", "colour": "grey"}
    change, _ = preview(ctx, Thing("t", "thing-1"))
    assert (change.action, change.fields) == ("update", ["colour"]) and Thing.live["thing-1"]["colour"] == "grey"
    ensure(ctx, Thing("t", "thing-1"))
    assert preview(ctx, Thing("t", "thing-1"))[0].action == "unchanged"


def test_a_generated_name_is_kept_for_the_same_identity_and_never_reused_within_a_second(ctx):
    first = generated_name(ctx, "t", {"v": 1}, lambda: "thing-20261126-101010")
    resource = Thing("t", first)
    resource.identity = {"v": 1}
    ensure(ctx, resource)
    assert generated_name(ctx, "t", {"v": 1}, lambda: "thing-20261126-101011") == first
    assert generated_name(ctx, "t", {"v": 2}, lambda: "thing-20261126-101010") == "thing-20261126-101010-2"


def test_a_record_for_another_name_is_retired_and_kept_until_swept(ctx):
    ensure(ctx, Thing("t", "thing-1"))
    ensure(ctx, Thing("t", "thing-2"))
    assert ctx.state.get("t")["name"] == "thing-2"
    assert [key for key, _ in ctx.state.retired("t")] == ["t/thing-1"]
