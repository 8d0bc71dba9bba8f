"""What a user can choose for each part of the stack. None means: as the stack was built, else the default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import MysfitsError

RECORDIO = "application/x-recordio-protobuf"
CSV = "text/csv"
CONTENT_TYPES = (RECORDIO, CSV)
PREDICTOR_TYPES = ("classifier", "regressor")


@dataclass(frozen=True)
class TrainOptions:
    """The data and the k-NN training job. None: as the last training job had it, else the workshop's value."""

    data: Path | None = None
    rows: int | None = None
    seed: int | None = None
    bucket: str | None = None
    content_type: str | None = None
    k: int | None = None
    sample_size: int | None = None
    predictor_type: str | None = None
    feature_dim: int | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    max_runtime: int | None = None
    new: bool = False  # train again even when nothing changed
    wait: bool = True
    logs: bool = True

    def __post_init__(self) -> None:
        if self.content_type is not None and self.content_type not in CONTENT_TYPES:
            raise MysfitsError(f"--content-type must be one of {', '.join(CONTENT_TYPES)}, not {self.content_type!r}")
        if self.predictor_type is not None and self.predictor_type not in PREDICTOR_TYPES:
            raise MysfitsError(f"--predictor-type must be one of {', '.join(PREDICTOR_TYPES)}, not {self.predictor_type!r}")
        if self.data is not None and (self.rows is not None):
            raise MysfitsError("--data and --rows both choose the training data: pass only one")


@dataclass(frozen=True)
class UpOptions:
    # the Mysfits API
    nlb: str | None = None
    user_pool_id: str | None = None
    no_auth: bool | None = None  # like/adopt without the Cognito authorizer; None: as the stack's API was made
    # the notebook
    notebook_instance_type: str | None = None
    repository: bool = True
    # the data and the training job
    train: TrainOptions = field(default_factory=TrainOptions)
    # the endpoint
    endpoint_instance_type: str | None = None
    endpoint_instance_count: int | None = None
    evaluate: bool = True
    batches: int = 100
    # the page
    site_bucket: str | None = None
    user_pool_client_id: str | None = None

    @property
    def bucket(self) -> str | None:
        return self.train.bucket
