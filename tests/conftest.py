"""Shared fixtures: fake credentials, moto in-process with the emulator fixes, and stack contexts."""

from __future__ import annotations

import os

import pytest

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    MYSFITS_POLL_SECONDS="0.01",
)
for _var in ("AWS_PROFILE", "MYSFITS_ENDPOINT_URL", "MYSFITS_STATE_FILE", "MYSFITS_STACK", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With --dist loadfile, the conformance folder counts as one file: its tests share one local cloud."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFileWithConformanceTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/conformance" if path.startswith("tests/conformance/") else path

    return ByFileWithConformanceTogether(config, log)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test's local-cloud record and state file inside its own temporary folder."""
    monkeypatch.setenv("MYSFITS_LOCAL_HOME", str(tmp_path / "local-home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_global_options_left_over():
    """A CLI run in-process remembers its global options for its hints; no test inherits another's."""
    from mysfits_cli import ui

    yield
    ui.use_global_options([])


@pytest.fixture
def aws():
    """moto in-process, with the same emulator fixes the local cloud applies."""
    from moto import mock_aws

    from mysfits_cli.local import patches

    with mock_aws():
        patches.apply()
        yield


@pytest.fixture
def seeded(aws):
    """What the workshop's earlier modules built: VPC, the backend's NLB, the user pool, the website bucket."""
    from mysfits_cli.local.seed import seed

    return seed("us-east-1")


@pytest.fixture
def make_ctx(tmp_path):
    """Build a Context on a state file in tmp_path (inside the `aws` fixture)."""
    from mysfits_cli.aws import Aws
    from mysfits_cli.config import Settings
    from mysfits_cli.engine import Context
    from mysfits_cli.state import StateFile

    def build(stack: str = "mysfits", state_file=None, **settings) -> Context:
        settings = Settings(stack=stack, state_file=state_file or tmp_path / "state.json", **settings)
        aws_ = Aws(settings)
        state = StateFile(settings.state_file).load().stack(stack, aws_.region, aws_.account_id)
        return Context(settings=settings, aws=aws_, state=state)

    return build


@pytest.fixture
def ctx(aws, make_ctx):
    return make_ctx()


class CallRecorder:
    """Records the AWS operations a Context's clients make (botocore before-call events)."""

    MUTATING = ("Create", "Put", "Update", "Delete", "Tag", "Untag", "Import", "Add", "Remove", "Attach",
                "Detach", "Stop", "Start", "Upload", "Publish", "Invoke")

    def __init__(self, ctx):
        self.calls: list[str] = []
        ctx.aws.session.events.register("before-call", self._record)
        ctx.aws._clients.clear()

    def _record(self, model, **_):
        self.calls.append(model.name)

    @property
    def mutating(self) -> list[str]:
        return [name for name in self.calls if name.startswith(self.MUTATING)]


@pytest.fixture
def record_calls():
    return CallRecorder


@pytest.fixture
def jobs_stay_in_progress(monkeypatch):
    """moto completes a training job the moment it is created; with this, new jobs stay InProgress (Training).

    Call the returned function to let jobs complete again (as moto does)."""
    from moto.sagemaker.models import FakeTrainingJob

    original = FakeTrainingJob.__init__

    def in_progress(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.training_job_status, self.secondary_status = "InProgress", "Training"

    monkeypatch.setattr(FakeTrainingJob, "__init__", in_progress)
    return lambda: monkeypatch.setattr(FakeTrainingJob, "__init__", original)
