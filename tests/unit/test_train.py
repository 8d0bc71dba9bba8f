"""`train` and `data generate`: the data bucket, the uploads, the training job, its logs and its failures."""

from __future__ import annotations

import time

import numpy as np
import pytest
from typer.testing import CliRunner

from mysfits_cli.cli import app
from mysfits_cli.engine import ensure
from mysfits_cli.errors import MysfitsError, OptionError
from mysfits_cli.ml import dataset, recordio
from mysfits_cli.options import TrainOptions, UpOptions
from mysfits_cli.resources.s3 import Bucket, DataPrefix
from mysfits_cli.resources.sagemaker import TrainingJob
from mysfits_cli.steps import train as train_step
from mysfits_cli.options import RECORDIO
from mysfits_cli.steps import training_data
from mysfits_cli.steps.train import LogTail, follow_job
from tests.support.steps import destroy, destroy_keys, train

ACCOUNT = "123456789012"
BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"
STAMP = "20261125-120000"
JOB = f"mysfits-knn-{STAMP}"
SMALL = TrainOptions(rows=2000, sample_size=500)


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    monkeypatch.setattr(train_step, "timestamp", lambda: STAMP)


def moto_training_job(name: str):
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT]["us-east-1"].training_jobs[name]


def objects(ctx, prefix: str) -> dict[str, bytes]:
    s3 = ctx.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


# ---- the bucket ---------------------------------------------------------------------------------

def test_creates_a_private_tagged_bucket_and_records_it_as_ours(ctx):
    record = ensure(ctx, Bucket("train.bucket", BUCKET))
    s3 = ctx.aws.client("s3")
    assert record == {"id": BUCKET, "name": BUCKET, "created": True, "kind": "s3-bucket"}
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "mysfits:stack", "Value": "mysfits"}]
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None


def test_outside_us_east_1_the_bucket_gets_a_location_constraint(aws, make_ctx):
    ctx = make_ctx(region="eu-west-1")
    ensure(ctx, Bucket("train.bucket", f"sagemaker-eu-west-1-{ACCOUNT}"))
    location = ctx.aws.client("s3").get_bucket_location(Bucket=f"sagemaker-eu-west-1-{ACCOUNT}")
    assert location["LocationConstraint"] == "eu-west-1"


def test_a_bucket_in_another_region_is_refused_before_any_upload_and_its_data_never_deleted(ctx, make_ctx, tmp_path):
    """--bucket given in two regions: SageMaker reads a job's input only from its own region's buckets."""
    train(ctx, TrainOptions(rows=2000, sample_size=500, bucket="shared-bucket"))
    s3 = ctx.aws.client("s3")
    before = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="shared-bucket")["Contents"])
    ireland = make_ctx(region="eu-west-1", state_file=tmp_path / "eu.json")
    with pytest.raises(MysfitsError, match="Bucket shared-bucket is in us-east-1, and SageMaker trains in eu-west-1 only "
                                           "on data in eu-west-1: pass --bucket with a bucket in eu-west-1"):
        train(ireland, TrainOptions(rows=2000, sample_size=500, bucket="shared-bucket"))
    assert ireland.state.get("train.data") is None
    ireland.state.put("train.data", {**ctx.state.get("train.data")})  # as an older mysfits could have recorded it
    destroy_keys(ireland, ["train.data"])
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="shared-bucket")["Contents"]) == before


def test_an_existing_bucket_is_used_but_never_deleted(ctx, record_calls):
    ctx.aws.client("s3").create_bucket(Bucket="their-bucket")
    recorder = record_calls(ctx)
    record = ensure(ctx, Bucket("train.bucket", "their-bucket"))
    assert record["created"] is False and recorder.mutating == []
    destroy_keys(ctx, ["train.bucket"])
    ctx.aws.client("s3").head_bucket(Bucket="their-bucket")


def test_a_bucket_of_ours_is_recognised_after_a_lost_state(ctx, make_ctx, tmp_path):
    ensure(ctx, Bucket("train.bucket", BUCKET))
    lost = make_ctx(state_file=tmp_path / "lost.json")
    assert ensure(lost, Bucket("train.bucket", BUCKET))["created"] is True
    assert [r["id"] for r in Bucket.leftovers(lost)] == [BUCKET]


def test_our_bucket_is_deleted_only_when_empty(ctx):
    record = ensure(ctx, Bucket("train.bucket", BUCKET))
    ctx.aws.client("s3").put_object(Bucket=BUCKET, Key="someone-else/file", Body=b"x")
    assert "still holds objects that are not this stack's, such as someone-else/file" in Bucket.delete(ctx, record)
    ctx.aws.client("s3").delete_object(Bucket=BUCKET, Key="someone-else/file")
    assert Bucket.delete(ctx, record) is None
    assert Bucket.status(ctx, record) is None
    destroy_keys(ctx, ["train.bucket"])  # already gone counts as deleted
    assert ctx.state.get("train.bucket") is None


def test_a_bucket_killed_before_it_was_made_private_and_tagged_is_ours_and_converged(ctx, make_ctx, record_calls):
    from mysfits_cli.engine import intent

    # the intent is written, CreateBucket reaches S3, the command dies before it hears back
    ctx.state.put("train.bucket", intent(Bucket("train.bucket", BUCKET)))
    ctx.aws.client("s3").create_bucket(Bucket=BUCKET)
    again = make_ctx()
    recorder = record_calls(again)
    record = ensure(again, Bucket("train.bucket", BUCKET))
    assert record["created"] is True
    assert sorted(recorder.mutating) == ["PutBucketTagging", "PutPublicAccessBlock"]
    s3 = again.aws.client("s3")
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())
    assert {"Key": "mysfits:stack", "Value": "mysfits"} in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]


# ---- uploaded data ----------------------------------------------------------------------------

def _prefix(objects: dict[str, bytes], source: dict) -> DataPrefix:
    made = []

    def make() -> dict[str, bytes]:
        made.append(True)
        return {f"mysfits/train/{name}": body for name, body in objects.items()}

    prefix = DataPrefix("d", BUCKET, ["mysfits/train/"], make, source)
    prefix.made = made
    return prefix


def test_uploads_once_then_only_what_changed_and_removes_what_is_no_longer_wanted(ctx, make_ctx, record_calls):
    ensure(ctx, Bucket("train.bucket", BUCKET))
    ensure(ctx, _prefix({"a": b"1", "b": b"2"}, {"v": 1}))
    assert objects(ctx, "mysfits/train/") == {"mysfits/train/a": b"1", "mysfits/train/b": b"2"}

    again = make_ctx()
    recorder = record_calls(again)
    same = _prefix({"a": b"1", "b": b"2"}, {"v": 1})
    ensure(again, same)
    assert recorder.mutating == [] and same.made == []  # the same source, untouched: not even made again

    recorder = record_calls(again)
    ensure(again, _prefix({"a": b"1", "c": b"3"}, {"v": 2}))
    assert recorder.mutating == ["PutObject", "DeleteObjects"]
    assert objects(ctx, "mysfits/train/") == {"mysfits/train/a": b"1", "mysfits/train/c": b"3"}

    ctx.aws.client("s3").delete_object(Bucket=BUCKET, Key="mysfits/train/c")  # someone removed an object
    recorder = record_calls(again)
    ensure(again, _prefix({"a": b"1", "c": b"3"}, {"v": 2}))
    assert recorder.mutating == ["PutObject"]


def test_teardown_forgets_data_that_is_gone_without_purge_data_and_keeps_what_is_there(ctx, capsys):
    train(ctx, SMALL)
    s3 = ctx.aws.client("s3")
    for key in objects(ctx, "mysfits/test/"):
        s3.delete_object(Bucket=BUCKET, Key=key)
    for key in objects(ctx, "mysfits/train/"):
        s3.delete_object(Bucket=BUCKET, Key=key)
    capsys.readouterr()
    assert destroy(ctx, purge_data=False) == []
    err = capsys.readouterr().err
    assert f"s3-data s3://{BUCKET}/mysfits/train/ was already gone" in err and "Deleted s3-data" not in err
    assert [key for key, _ in ctx.state.items()] == ["train.bucket"]  # the bucket is there, and kept
    assert f"Kept the training data and model artifacts ({BUCKET})" in err


def test_deleting_data_removes_every_object_under_the_prefix_only(ctx):
    ensure(ctx, Bucket("train.bucket", BUCKET))
    record = ensure(ctx, _prefix({f"part-{i}": b"x" for i in range(3)}, {"v": 1}))
    ctx.aws.client("s3").put_object(Bucket=BUCKET, Key="mysfits/trainer.txt", Body=b"keep")
    assert DataPrefix.status(ctx, record) == "3 objects, 3 bytes"
    DataPrefix.delete(ctx, record)
    assert DataPrefix.status(ctx, record) is None
    assert list(objects(ctx, "mysfits/")) == ["mysfits/trainer.txt"]
    DataPrefix.delete(ctx, record)  # nothing left: still fine


# ---- the training step ------------------------------------------------------------------------

def test_train_uploads_the_seeded_split_and_starts_the_k_nn_job(ctx):
    job = train(ctx, SMALL)
    described = ctx.aws.client("sagemaker").describe_training_job(TrainingJobName=JOB)
    assert job["status"] == "Completed" and job["model_artifact"].startswith(f"s3://{BUCKET}/mysfits/output/")
    assert described["AlgorithmSpecification"]["TrainingImage"] == "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
    assert described["HyperParameters"] == {"feature_dim": "5", "k": "10", "sample_size": "500", "predictor_type": "classifier"}
    assert described["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/mysfits-us-east-1-notebook-role"
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert described["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/mysfits/output"
    channels = {c["ChannelName"]: c for c in described["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/mysfits/train/"
    assert channels["test"]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/mysfits/test/"
    assert {c["ContentType"] for c in channels.values()} == {"application/x-recordio-protobuf"}
    tags = ctx.aws.client("sagemaker").list_tags(ResourceArn=described["TrainingJobArn"])["Tags"]
    assert {"Key": "mysfits:stack", "Value": "mysfits"} in tags

    expected_train, expected_test = dataset.split(dataset.generate(2000, 42), 42)
    [train_body] = objects(ctx, "mysfits/train/").values()
    [test_body] = objects(ctx, "mysfits/test/").values()
    features, labels = recordio.decode(train_body)
    assert np.array_equal(np.column_stack([features, labels]), expected_train)
    assert training_data.decode(test_body, RECORDIO).tolist() == expected_test.tolist()

    kinds = {key: record["kind"] for key, record in ctx.state.resources.items()}
    assert kinds == {
        "train.bucket": "s3-bucket",
        "train.data": "s3-data",
        "sagemaker.role": "iam-role",
        "train.job": "training-job",
        "train.output": "s3-data",
    }
    assert ctx.state.get("train.bucket")["created"] is True
    assert ctx.state.outputs["test_data"] == f"s3://{BUCKET}/mysfits/test/"
    assert ctx.state.outputs["bayes_optimal_accuracy"] == round(dataset.bayes_optimal_accuracy(), 6)


def test_several_instances_get_one_shard_each(ctx):
    train(ctx, TrainOptions(rows=2000, sample_size=500, instance_count=3))
    shards = objects(ctx, "mysfits/train/")
    assert sorted(shards) == [f"mysfits/train/part-{i:04d}-of-0003.rec" for i in range(3)]
    assert sum(len(recordio.decode(body)[0]) for body in shards.values()) == 1800
    described = ctx.aws.client("sagemaker").describe_training_job(TrainingJobName=JOB)
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in described["InputDataConfig"]}
    assert channels["train"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert channels["test"]["S3DataDistributionType"] == "FullyReplicated"
    assert described["ResourceConfig"]["InstanceCount"] == 3


def test_csv_content_type_writes_the_label_first(ctx):
    train(ctx, TrainOptions(rows=100, sample_size=50, content_type="text/csv"))
    [body] = objects(ctx, "mysfits/train/").values()
    first = body.decode().splitlines()[0].split(",")
    expected_train, _ = dataset.split(dataset.generate(100, 42), 42)
    assert [int(v) for v in first] == [expected_train[0, 5], *expected_train[0, :5]]
    described = ctx.aws.client("sagemaker").describe_training_job(TrainingJobName=JOB)
    assert {c["ContentType"] for c in described["InputDataConfig"]} == {"text/csv"}


def test_given_data_is_used_and_has_no_bayes_bound(ctx, tmp_path):
    path = tmp_path / "data.csv.gz"
    dataset.write_csv(dataset.generate(300, 7), path)
    ctx.state.set_output("bayes_optimal_accuracy", 0.5)
    train(ctx, TrainOptions(data=path, sample_size=100))
    assert "bayes_optimal_accuracy" not in ctx.state.outputs
    uploaded = [*objects(ctx, "mysfits/train/").values(), *objects(ctx, "mysfits/test/").values()]
    assert sum(len(recordio.decode(body)[0]) for body in uploaded) == 300


def test_feature_dim_must_match_the_data(ctx):
    with pytest.raises(MysfitsError, match="--feature-dim 4 does not match"):
        train(ctx, TrainOptions(rows=100, feature_dim=4))


def test_a_rerun_with_the_same_data_and_settings_changes_nothing_and_says_nothing_again(
        ctx, make_ctx, record_calls, monkeypatch, capsys):
    train(ctx, SMALL)
    assert "Final metrics" in capsys.readouterr().out
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-130000")
    again = make_ctx()
    recorder = record_calls(again)
    assert train(again)["id"] == JOB  # the options not given are the ones the job was trained with
    assert recorder.mutating == []
    shown = capsys.readouterr()
    assert shown.out == "" and shown.err == ""  # neither the job's log, nor its metrics, nor "Completed after 0m00s"


@pytest.mark.parametrize(("given", "said", "options"), [
    (TrainOptions(rows=10), "k 10 by default is more than the 9 training rows (the 90% of --rows 10 that training "
                            "gets): k-NN cannot vote with 10 neighbours among 9 points; pass --rows 11 or more, or "
                            "--k 9 or less", ("--rows", "--k")),
    (TrainOptions(rows=20_000, k=200_000), "--k 200000 is more than the 18,000 training rows (the 90% of --rows "
                                           "20000 that training gets): k-NN cannot vote with 200,000 neighbours "
                                           "among 18,000 points; pass --k 18000 or less", ("--k",)),
    (TrainOptions(rows=2_000, k=600, sample_size=500), "--k 600 is more than the 500 points k-NN samples for its index "
                                                       "(--sample-size 500): k-NN cannot vote with 600 neighbours among "
                                                       "500 points; pass --k 500 or less, or --sample-size 600 or more",
     ("--k", "--sample-size")),
])
def test_a_k_that_cannot_work_is_refused_naming_the_option(ctx, given, said, options):
    with pytest.raises(OptionError) as refused:
        train_step.check_neighbours(ctx, given, train_step.resolve_spec(ctx, given))
    assert str(refused.value).startswith(said) and refused.value.options == options
    assert ctx.state.items() == []


def test_a_k_kept_from_the_last_job_is_named_as_such_and_a_file_counts_its_rows(ctx, tmp_path):
    train(ctx, TrainOptions(rows=2000, k=50))
    data = tmp_path / "few.csv"
    data.write_text("1,2,3,4,5,0\n" * 40)
    given = TrainOptions(data=data)
    with pytest.raises(OptionError, match=rf"^k 50, kept from the stack's last training job, is more than the 36 "
                                          rf"training rows \(the 90% of the 40 rows of {data} that training gets\): .*"
                                          r"pass --data with at least 56 rows, or --k 36 or less$"):
        train_step.check_neighbours(ctx, given, train_step.resolve_spec(ctx, given))


def test_new_trains_again_on_the_same_data(ctx, make_ctx, record_calls, monkeypatch):
    train(ctx, SMALL)
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-130000")
    again = make_ctx()
    recorder = record_calls(again)
    assert train(again, TrainOptions(new=True))["id"] == "mysfits-knn-20261125-130000"
    assert recorder.mutating == ["CreateTrainingJob"]
    jobs = [r["id"] for r in again.state.resources.values() if r["kind"] == "training-job"]
    assert jobs == ["mysfits-knn-20261125-130000"]  # the finished older job is forgotten


def test_other_settings_train_again_and_say_why(ctx, make_ctx, monkeypatch, capsys):
    train(ctx, SMALL)
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-130000")
    capsys.readouterr()
    assert train(make_ctx(), TrainOptions(k=15))["id"] == "mysfits-knn-20261125-130000"
    assert "Training again: k 10 → 15" in capsys.readouterr().err


def test_a_rerun_follows_the_job_that_is_still_running(ctx, make_ctx, record_calls, monkeypatch, jobs_stay_in_progress):
    let_jobs_complete = jobs_stay_in_progress
    train(ctx, TrainOptions(rows=100, sample_size=50, wait=False))
    let_jobs_complete()
    moto_training_job(JOB).training_job_status = "Completed"
    again = make_ctx()
    recorder = record_calls(again)
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-130000")
    assert train(again)["id"] == JOB
    assert recorder.mutating == []


def test_a_job_killed_after_create_is_adopted_not_started_twice(ctx, make_ctx, record_calls, monkeypatch):
    from mysfits_cli.engine import intent

    train(ctx, SMALL)
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-130000")
    killed = TrainingJob("train.job", "mysfits-knn-20261125-130000", _request(ctx))
    killed.identity = {**ctx.state.get("train.job")["identity"], "k": 15}
    ctx.state.put("train.job", intent(killed))  # the intent of a k=15 run, killed right after CreateTrainingJob
    ctx.aws.client("sagemaker").create_training_job(TrainingJobName=killed.name, **_request(ctx))
    monkeypatch.setattr(train_step, "timestamp", lambda: "20261125-140000")
    again = make_ctx()
    recorder = record_calls(again)
    assert train(again, TrainOptions(k=15))["id"] == "mysfits-knn-20261125-130000"
    assert "CreateTrainingJob" not in recorder.mutating


def test_no_wait_returns_at_once_and_status_shows_the_progress(ctx, jobs_stay_in_progress):
    job = train(ctx, TrainOptions(rows=100, sample_size=50, wait=False))
    assert job["status"] == "InProgress" and "model_artifact" not in job
    assert TrainingJob.status(ctx, job) == "InProgress (Training)"


@pytest.mark.parametrize(("reason", "options"), [
    ("AlgorithmError: feature_dim does not match", ()),
    ("ClientError: sample_size is too large for the instance's memory", ("--k", "--rows", "--data")),
])
def test_a_failed_job_reports_its_reason_and_the_options_behind_its_input(ctx, monkeypatch, reason, options):
    from moto.sagemaker.models import FakeTrainingJob

    from mysfits_cli.stack import up

    original = FakeTrainingJob.__init__

    def failing(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.training_job_status, self.secondary_status = "Failed", "Failed"
        self.failure_reason = reason

    monkeypatch.setattr(FakeTrainingJob, "__init__", failing)
    with pytest.raises(MysfitsError, match=f"is Failed: {reason}"):
        train(ctx, SMALL)
    assert ctx.state.get("train.job")["kind"] == "training-job"
    failed = up(ctx, UpOptions(train=SMALL), ["train"]).results["train.job"]  # "Training again", and the same end
    assert failed.outcome == "failed" and failed.options == options
    if options:  # SageMaker's "ClientError" is the job's input: the settings it was given are said with it
        assert failed.reason.endswith("(trained with k 10, sample size 500, classifier, on 2,000 generated rows (seed 42))")


def test_log_tail_returns_each_line_of_the_job_s_streams_once(ctx):
    logs = ctx.aws.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{JOB}/algo-1-1700000000")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="another-job/algo-1-1700000000")
    clock = iter(range(int(time.time() * 1000), 2**63))

    def put(stream, *messages):
        logs.put_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
            logEvents=[{"timestamp": next(clock), "message": m} for m in messages],
        )

    put(f"{JOB}/algo-1-1700000000", "[k-NN] reading data", "[k-NN] building the index")
    put("another-job/algo-1-1700000000", "not ours")
    tail = LogTail(ctx, JOB)
    assert tail.new_lines() == ["[k-NN] reading data", "[k-NN] building the index"]
    assert tail.new_lines() == []
    put(f"{JOB}/algo-1-1700000000", "#test_score (algo-1) : ('accuracy', 0.64)")
    assert tail.new_lines() == ["#test_score (algo-1) : ('accuracy', 0.64)"]


def test_log_lines_are_printed_while_following_and_hidden_with_no_logs(ctx, capsys):
    logs = ctx.aws.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{JOB}/algo-1")
    logs.put_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{JOB}/algo-1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "[k-NN] done [not markup]"}],
    )
    record = ensure(ctx, TrainingJob("train.job", JOB, _request(ctx)))
    follow_job(ctx, record, timeout=60, show_logs=False)
    assert "[k-NN] done" not in capsys.readouterr().err
    follow_job(ctx, record, timeout=60, show_logs=True)
    err = capsys.readouterr().err
    assert "[k-NN] done [not markup]" in err
    assert f"Training job {JOB}: Completed after" not in err  # completed at the first look: nothing was waited for


def _request(ctx):
    spec = train_step.resolve_spec(ctx, SMALL)
    return train_step.training_request(spec, "img", f"arn:aws:iam::{ACCOUNT}:role/r", BUCKET, "mysfits/", 5)


def test_teardown_of_a_finished_job_makes_no_call_and_says_so_and_a_gone_job_has_no_status(ctx, record_calls):
    record = ensure(ctx, TrainingJob("train.job", JOB, _request(ctx)))
    recorder = record_calls(ctx)
    assert "cannot be deleted, and cost nothing" in TrainingJob.delete(ctx, record)
    assert recorder.mutating == []
    assert TrainingJob.status(ctx, {"id": "mysfits-knn-19990101-000000"}) is None


def test_leftover_jobs_are_the_stack_s_running_ones(ctx):
    ensure(ctx, TrainingJob("a", JOB, _request(ctx)))
    ensure(ctx, TrainingJob("b", "mysfits-knn-20261125-120001", _request(ctx)))
    ctx.aws.client("sagemaker").create_training_job(
        TrainingJobName="x-mysfits-knn-20261125-120002", Tags=[{"Key": "mysfits:stack", "Value": "x-mysfits"}],
        **_request(ctx),
    )
    for name in ("mysfits-knn-20261125-120001", "x-mysfits-knn-20261125-120002"):
        moto_training_job(name).training_job_status = "InProgress"
    assert [r["id"] for r in TrainingJob.leftovers(ctx)] == ["mysfits-knn-20261125-120001"]


# ---- through the command line -----------------------------------------------------------------

def test_train_reports_a_malformed_data_file_with_its_line(aws, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3,4,5,0\n1,2,3,4,9,0\n")
    result = CliRunner().invoke(app, ["--state-file", str(tmp_path / "s.json"), "train", "--data", str(bad)])
    assert isinstance(result.exception, MysfitsError)
    assert str(result.exception) == f"{bad} line 2: answer 5 is 9, expected 1-8"
    assert not (tmp_path / "s.json").exists() or '"resources": {}' in (tmp_path / "s.json").read_text()


def test_train_reports_a_missing_data_file(aws, tmp_path):
    result = CliRunner().invoke(app, ["--state-file", str(tmp_path / "s.json"), "train", "--data", str(tmp_path / "nope.csv")])
    assert str(result.exception) == f"{tmp_path / 'nope.csv'}: no such file"


def test_train_rejects_an_unknown_content_type(aws, tmp_path):
    result = CliRunner().invoke(app, ["--state-file", str(tmp_path / "s.json"), "train", "--content-type", "application/json"])
    assert "--content-type must be one of" in str(result.exception)


def test_data_generate_writes_the_rows_and_prints_the_bayes_bound(tmp_path):
    out = tmp_path / "data.csv.gz"
    result = CliRunner().invoke(app, ["data", "generate", "--rows", "500", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert np.array_equal(dataset.read_csv(out), dataset.generate(500, 3))
    assert f"Wrote 500 rows to {out}" in result.output
    assert f"{dataset.bayes_optimal_accuracy():.6f}" in result.output
