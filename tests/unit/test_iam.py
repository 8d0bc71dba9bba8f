"""The generic service role and the wait for IAM to settle."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from mysfits_cli.engine import delete_record, ensure
from mysfits_cli.errors import MysfitsError
from mysfits_cli.graph import Run
from mysfits_cli.options import UpOptions
from mysfits_cli.resources import iam as iam_module
from mysfits_cli.resources.iam import Role, is_role_settling, retry_until_role_usable, trust_policy
from tests.support.steps import destroy, destroy_keys

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}


def role(policy=POLICY, name="mysfits-test-role", service="sagemaker.amazonaws.com") -> Role:
    return Role("test.role", name, service, policy, "a role for the tests")


def test_creates_a_tagged_role_that_the_service_assumes_with_its_inline_policy(ctx):
    record = ensure(ctx, role())
    client = ctx.aws.client("iam")
    live = client.get_role(RoleName="mysfits-test-role")["Role"]
    assert record["arn"] == live["Arn"] and record["kind"] == "iam-role"
    assert live["AssumeRolePolicyDocument"] == trust_policy("sagemaker.amazonaws.com")
    assert live["Description"] == "a role for the tests"
    tags = {tag["Key"]: tag["Value"] for tag in client.list_role_tags(RoleName="mysfits-test-role")["Tags"]}
    assert tags == {"mysfits:stack": "mysfits", "mysfits:region": "us-east-1"}
    assert client.list_role_policies(RoleName="mysfits-test-role")["PolicyNames"] == ["mysfits-test-role-policy"]
    stored = client.get_role_policy(RoleName="mysfits-test-role", PolicyName="mysfits-test-role-policy")
    assert stored["PolicyDocument"] == POLICY
    assert ctx.state.get("test.role")["id"] == "mysfits-test-role"


def test_rerun_makes_no_mutating_call(ctx, make_ctx, record_calls):
    ensure(ctx, role())
    again = make_ctx()
    recorder = record_calls(again)
    ensure(again, role())
    assert recorder.mutating == []
    assert "GetRolePolicy" in recorder.calls


def test_a_lost_state_adopts_the_existing_role(ctx, make_ctx, tmp_path, record_calls):
    ensure(ctx, role())
    fresh = make_ctx(state_file=tmp_path / "other.json")
    recorder = record_calls(fresh)
    record = ensure(fresh, role())
    assert recorder.mutating == []
    assert record["id"] == "mysfits-test-role"


def test_a_changed_policy_is_put_and_nothing_else(ctx, make_ctx, record_calls):
    ensure(ctx, role())
    changed = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": ["s3:GetObject", "s3:PutObject"]}]}
    again = make_ctx()
    recorder = record_calls(again)
    ensure(again, role(changed))
    assert recorder.mutating == ["PutRolePolicy"]
    stored = again.aws.client("iam").get_role_policy(RoleName="mysfits-test-role", PolicyName="mysfits-test-role-policy")
    assert stored["PolicyDocument"] == changed


def test_a_changed_trust_policy_is_updated(ctx, make_ctx, record_calls):
    ensure(ctx, role())
    again = make_ctx()
    recorder = record_calls(again)
    ensure(again, role(service="lambda.amazonaws.com"))
    assert recorder.mutating == ["UpdateAssumeRolePolicy"]


def test_delete_removes_inline_and_managed_policies_then_the_role(ctx):
    record = ensure(ctx, role())
    client = ctx.aws.client("iam")
    managed = client.create_policy(PolicyName="extra", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    client.attach_role_policy(RoleName="mysfits-test-role", PolicyArn=managed)
    client.put_role_policy(RoleName="mysfits-test-role", PolicyName="added-by-hand", PolicyDocument=json.dumps(POLICY))
    Role.delete(ctx, record)
    with pytest.raises(client.exceptions.NoSuchEntityException):
        client.get_role(RoleName="mysfits-test-role")
    assert Role.status(ctx, record) is None
    client.get_policy(PolicyArn=managed)  # detached, not deleted: it is not ours


def test_a_role_already_gone_counts_as_deleted(ctx):
    record = ensure(ctx, role())
    ctx.aws.client("iam").delete_role_policy(RoleName="mysfits-test-role", PolicyName="mysfits-test-role-policy")
    ctx.aws.client("iam").delete_role(RoleName="mysfits-test-role")
    assert Role.status(ctx, record) is None
    destroy_keys(ctx, ["test.role"])
    assert ctx.state.get("test.role") is None


def test_leftovers_are_the_stack_s_tagged_roles_only(ctx, make_ctx, tmp_path):
    ensure(ctx, role())
    other_stack = make_ctx(stack="mysfits-dev", state_file=tmp_path / "dev.json")
    ensure(other_stack, Role("test.role", "mysfits-dev-role", "lambda.amazonaws.com", POLICY, "another stack's"))
    ctx.aws.client("iam").create_role(RoleName="mysfits-untagged", AssumeRolePolicyDocument=json.dumps(trust_policy("lambda.amazonaws.com")))
    names = [record["id"] for record in Role.leftovers(ctx)]
    assert names == ["mysfits-test-role"]
    assert [record["id"] for record in Role.leftovers(other_stack)] == ["mysfits-dev-role"]


# ---- IAM is global: one stack-and-region owns each role ----------------------------------------------


def test_a_role_of_another_region_is_neither_changed_nor_deleted_nor_swept(ctx, make_ctx, tmp_path, record_calls):
    ensure(ctx, role())
    israel = make_ctx(region="il-central-1", state_file=tmp_path / "il.json")
    recorder = record_calls(israel)
    with pytest.raises(MysfitsError, match="IAM role mysfits-test-role is the role of stack mysfits in us-east-1"):
        ensure(israel, role({"Version": "2012-10-17", "Statement": []}))
    assert israel.state.items() == []
    assert delete_record(israel, None, ctx.state.get("test.role")) == \
        "Left iam-role mysfits-test-role in place: it is the role of stack mysfits in us-east-1"
    assert Role.leftovers(israel) == []
    assert recorder.mutating == []
    assert [r["id"] for r in Role.leftovers(ctx)] == ["mysfits-test-role"]


def test_role_names_fit_iams_limit_for_the_longest_stack_name_in_the_longest_region(aws, make_ctx, tmp_path):
    from mysfits_cli.aws import known_regions
    from mysfits_cli.steps import recommendations

    region = max(known_regions(), key=len)
    ctx = make_ctx(stack="s" * 20, region=region, state_file=tmp_path / "long.json")
    name = recommendations.role(Run(ctx, UpOptions(), {"endpoint.endpoint": {"name": "e"}}, planning=True)).name
    assert name == f"{'s' * 20}-{region}-recommendations-role" and len(name) <= 64  # IAM's limit for a role name
    assert len(f"{name}-policy") <= 128  # and for an inline policy's


def _sagemaker_role(ctx) -> Role:
    from mysfits_cli.steps.notebook import sagemaker_role

    return sagemaker_role(Run(ctx, UpOptions(), {}, planning=True))


def _as_older_mysfits_made_it(ctx, policy_from) -> dict:
    """The role `mysfits-notebook-role`: tagged with the stack only, its policy as `policy_from`'s region wrote it."""
    from mysfits_cli.steps.notebook import notebook_policy

    client = ctx.aws.client("iam")
    name = "mysfits-notebook-role"
    if "mysfits-notebook-role" not in [r["RoleName"] for r in client.list_roles()["Roles"]]:
        client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy("sagemaker.amazonaws.com")),
                           Tags=[{"Key": "mysfits:stack", "Value": "mysfits"}])
    bucket = f"sagemaker-{policy_from.aws.region}-123456789012"
    client.put_role_policy(RoleName=name, PolicyName=f"{name}-policy",
                           PolicyDocument=json.dumps(notebook_policy(policy_from, name, bucket)))
    arn = client.get_role(RoleName=name)["Role"]["Arn"]
    return {"kind": "iam-role", "id": name, "name": name, "arn": arn}


def test_the_same_stack_in_two_regions_gets_a_role_each_named_with_its_region(ctx, make_ctx, tmp_path):
    israel = make_ctx(region="il-central-1", state_file=tmp_path / "il.json")
    assert _sagemaker_role(ctx).name == "mysfits-us-east-1-notebook-role"
    assert _sagemaker_role(israel).name == "mysfits-il-central-1-notebook-role"
    ensure(ctx, _sagemaker_role(ctx))
    ensure(israel, _sagemaker_role(israel))
    destroy_keys(israel, ["sagemaker.role"])
    assert ctx.aws.client("iam").get_role(RoleName="mysfits-us-east-1-notebook-role")


def test_an_older_role_in_two_regions_stays_with_the_region_its_policy_serves(ctx, make_ctx, tmp_path, record_calls):
    """Older mysfits named the role after the stack alone: both regions recorded it, the last to write wins it."""
    israel = make_ctx(region="il-central-1", state_file=tmp_path / "il.json")
    ctx.state.put("sagemaker.role", _as_older_mysfits_made_it(ctx, policy_from=ctx))
    israel.state.put("sagemaker.role", _as_older_mysfits_made_it(israel, policy_from=israel))

    kept = _sagemaker_role(israel)
    assert kept.name == "mysfits-notebook-role"  # what its notebook runs as: kept, and claimed with the region tag
    recorder = record_calls(israel)
    ensure(israel, kept)
    assert recorder.mutating == ["TagRole"]
    tags = israel.aws.client("iam").list_role_tags(RoleName="mysfits-notebook-role")["Tags"]
    assert {"Key": "mysfits:region", "Value": "il-central-1"} in tags

    moved = _sagemaker_role(ctx)
    assert moved.name == "mysfits-us-east-1-notebook-role"  # the older role serves il-central-1: a role of its own
    ensure(ctx, moved)
    [(key, retired)] = ctx.state.retired("sagemaker.role")
    assert delete_record(ctx, key, retired) == \
        "Left iam-role mysfits-notebook-role in place: it is the role of stack mysfits in il-central-1"
    assert destroy(ctx) == []
    names = [r["RoleName"] for r in ctx.aws.client("iam").list_roles()["Roles"]]
    assert names == ["mysfits-notebook-role"]  # us-east-1's teardown took only its own


def test_an_older_role_of_one_region_is_kept_by_it_and_deleted_by_its_teardown(ctx):
    ctx.state.put("sagemaker.role", _as_older_mysfits_made_it(ctx, policy_from=ctx))
    assert _sagemaker_role(ctx).name == "mysfits-notebook-role"
    assert [r["id"] for r in Role.leftovers(ctx)] == ["mysfits-notebook-role"]
    assert destroy(ctx) == []
    assert ctx.aws.client("iam").list_roles()["Roles"] == []


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateTrainingJob")


NOT_ASSUMABLE = _client_error(
    "ValidationException",
    "Could not assume role arn:aws:iam::123456789012:role/r. Please ensure that the role exists "
    "and allows principal 'sagemaker.amazonaws.com' to assume the role.",
)


@pytest.mark.parametrize("code, message", [
    ("ValidationException", "Could not assume role arn:aws:iam::123456789012:role/r. Please ensure that the role "
                            "exists and allows principal 'sagemaker.amazonaws.com' to assume the role."),
    ("ValidationException", 'The execution role ARN "arn:aws:iam::123456789012:role/r" is invalid. Please ensure '
                            "that the role exists and that its trust relationship policy allows the action "
                            '"sts:AssumeRole" for the service principal "sagemaker.amazonaws.com".'),
    ("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
])
def test_every_way_aws_refuses_a_role_not_yet_spread_is_recognised(code, message):
    assert is_role_settling(_client_error(code, message))


def test_other_refusals_are_not_taken_for_iam_settling():
    assert not is_role_settling(_client_error("ValidationException", "feature_dim is missing"))
    assert not is_role_settling(_client_error("AccessDeniedException", "could not assume role"))
    assert not is_role_settling(ValueError("could not assume role"))


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(iam_module.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(iam_module.ui.board, "sleep", fake.sleep)
    return fake


def test_retries_with_backoff_until_the_role_is_usable(clock):
    attempts = []

    def call():
        attempts.append(clock.now)
        if len(attempts) < 4:
            raise NOT_ASSUMABLE
        return "created"

    assert retry_until_role_usable(call) == "created"
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_other_errors_are_raised_at_once(clock):
    error = _client_error("ValidationException", "feature_dim is missing")

    def call():
        raise error

    with pytest.raises(ClientError) as raised:
        retry_until_role_usable(call)
    assert raised.value is error and clock.sleeps == []


def test_gives_up_after_about_a_minute(clock):
    def call():
        raise NOT_ASSUMABLE

    with pytest.raises(ClientError):
        retry_until_role_usable(call)
    assert 40 <= sum(clock.sleeps) <= 60
    assert max(clock.sleeps) == 10.0
