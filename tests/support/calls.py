"""Building blocks for tests that drive the local cloud with boto3: AWS resources, and errors as they came."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import numpy as np
import pytest

from mysfits_cli.ml.knn import KnnModel

ACCOUNT = "123456789012"
BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"


def trust_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def create_role(iam: Any, name: str, service: str = "sagemaker.amazonaws.com") -> str:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(service))["Role"]["Arn"]


def model_archive(predictor_type: str = "classifier") -> bytes:
    """A small k-NN model.tar.gz, as a training job writes it."""
    rng = np.random.default_rng(7)
    features = rng.integers(1, 9, size=(60, 5)).astype(np.float32)
    return KnnModel(features, rng.integers(0, 12, size=60), k=3, predictor_type=predictor_type).to_bytes()


def put_object(s3: Any, key: str, body: bytes, bucket: str = BUCKET) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def model_and_config(sagemaker: Any, name: str, artifact: str, role_arn: str, instance_type: str = "ml.m5.xlarge") -> str:
    """A model of `artifact` and an endpoint config `<name>-config` serving it; returns the config's name."""
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=role_arn,
                           PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifact})
    config = f"{name}-config"
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": instance_type,
    }])
    return config


def training_job(role_arn: str, name: str, data: str, instance_type: str = "ml.m5.2xlarge") -> dict[str, Any]:
    """CreateTrainingJob's arguments for a k-NN job on the objects under `data`."""
    return {
        "TrainingJobName": name,
        "HyperParameters": {"feature_dim": "5", "k": "3", "sample_size": "50", "predictor_type": "classifier"},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "InputDataConfig": [{
            "ChannelName": "train", "ContentType": "text/csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data,
                                            "S3DataDistributionType": "FullyReplicated"}},
        }],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def csv_rows(rows: int = 100) -> bytes:
    rng = np.random.default_rng(3)
    data = np.column_stack([rng.integers(1, 9, size=(rows, 5)), rng.integers(0, 12, size=rows)])
    return "".join(",".join(map(str, row)) + "\n" for row in data.tolist()).encode()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    """Poll `read()` until `done(value)`; the last value (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.02)
        value = read()
    return value


def error(caught: pytest.ExceptionInfo) -> tuple[int, str, str]:
    """HTTP status, error code and message of a ClientError."""
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def wire_body(client: Any, operation: str) -> list[dict[str, Any]]:
    """The raw JSON bodies of `operation`'s responses to `client`, as they came over the wire."""
    bodies: list[dict[str, Any]] = []
    client.meta.events.register(
        f"before-parse.{client.meta.service_model.service_name}.{operation}",
        lambda response_dict, **_: bodies.append(json.loads(response_dict["body"] or b"{}")),
    )
    return bodies


def vpc_link_api(gateway: Any, link_id: str) -> str:
    """A REST API whose GET /mysfits goes through the VPC link, imported from an OpenAPI document."""
    document = {
        "openapi": "3.0.1",
        "info": {"title": "linked", "description": "through a VPC link", "version": "1"},
        "paths": {"/mysfits": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": "http://nlb.example.com/mysfits",
                "connectionType": "VPC_LINK", "connectionId": link_id,
            },
        }}},
    }
    return gateway.import_rest_api(body=json.dumps(document))["id"]
