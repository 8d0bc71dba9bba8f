"""Responses shaped as AWS's, and AWS managed policies, in the local cloud's emulation (under mock_aws)."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from mysfits_cli.local import aws_shapes
from tests.support.emulation import local_cloud

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"


@pytest.fixture
def cloud():
    with local_cloud(strict=False) as cloud:
        yield cloud


def test_training_job_output_config_has_a_kms_key_id():
    shaped = aws_shapes.training_job_as_aws({"OutputDataConfig": {"S3OutputPath": "s3://b/p"}})
    assert shaped["OutputDataConfig"] == {"S3OutputPath": "s3://b/p", "KmsKeyId": ""}
    kept = aws_shapes.training_job_as_aws({"OutputDataConfig": {"S3OutputPath": "s3://b/p", "KmsKeyId": "k"}})
    assert kept["OutputDataConfig"]["KmsKeyId"] == "k"


def test_endpoint_variants_have_weights_and_images_and_no_empty_capture_config():
    shaped = aws_shapes.endpoint_as_aws(
        {"DataCaptureConfig": {}, "CreationTime": "t",
         "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}]},
        {"AllTraffic": IMAGE},
    )
    assert "DataCaptureConfig" not in shaped
    variant = shaped["ProductionVariants"][0]
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    image = variant["DeployedImages"][0]
    assert image["SpecifiedImage"] == IMAGE
    assert re.fullmatch(r"382416733822\.dkr\.ecr\.us-east-1\.amazonaws\.com/knn@sha256:[0-9a-f]{64}", image["ResolvedImage"])
    config = aws_shapes.endpoint_config_as_aws({"DataCaptureConfig": {}, "ProductionVariants": [{"VariantName": "A"}]})
    assert config == {"ProductionVariants": [{"InitialVariantWeight": 1.0, "VariantName": "A"}]}
    assert aws_shapes.model_as_aws({"ModelName": "m", "VpcConfig": {}}) == {"ModelName": "m"}


@pytest.mark.parametrize("moto_form", ["2026-12-03T04:01:51.650123000Z", "2026-12-03T04:01:51.650+0000",
                                       "2026-12-03T04:01:51.6Z"])
def test_lambda_timestamps_read_as_lambda_writes_them(moto_form):
    assert re.fullmatch(r"2026-12-03T04:01:51\.6[05]0\+0000", aws_shapes.lambda_timestamp(moto_form))


def test_a_network_load_balancer_has_a_network_arn_and_dns_name(cloud):
    ec2, elbv2 = cloud.client("ec2"), cloud.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    nlb = elbv2.create_load_balancer(Name="backend", Subnets=[subnet], Type="network",
                                     Tags=[{"Key": "k", "Value": "v"}])["LoadBalancers"][0]
    alb = elbv2.create_load_balancer(Name="web", Subnets=[subnet])["LoadBalancers"][0]
    lb_id = nlb["LoadBalancerArn"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/backend/[0-9a-f]{16}",
                        nlb["LoadBalancerArn"])
    assert nlb["DNSName"] == f"backend-{lb_id}.elb.us-east-1.amazonaws.com"
    assert ":loadbalancer/app/web/" in alb["LoadBalancerArn"]
    found = elbv2.describe_load_balancers(LoadBalancerArns=[nlb["LoadBalancerArn"]])["LoadBalancers"][0]
    assert found["DNSName"] == nlb["DNSName"]
    tags = elbv2.describe_tags(ResourceArns=[nlb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "k", "Value": "v"}]


def test_user_pool_ids_have_nine_letters_and_digits(cloud):
    cognito = cloud.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="p")["UserPool"]
    assert re.fullmatch(r"us-east-1_[0-9A-Za-z]{9}", pool["Id"])
    assert pool["Arn"].endswith(f":userpool/{pool['Id']}")
    assert cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Name"] == "p"


def test_lambda_last_modified_and_integration_types(cloud):
    role = cloud.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    function = cloud.client("lambda").create_function(
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": package.getvalue()})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", function["LastModified"])
    gateway = cloud.client("apigateway")
    document = {"openapi": "3.0.1", "info": {"title": "t", "description": "d", "version": "1"}, "paths": {"/x": {
        "options": {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200"}}}}}}}
    api = gateway.import_rest_api(body=json.dumps(document))["id"]
    resource = next(r for r in gateway.get_resources(restApiId=api)["items"] if r["path"] == "/x")
    assert gateway.get_integration(restApiId=api, resourceId=resource["id"], httpMethod="OPTIONS")["type"] == "MOCK"


def test_aws_managed_policies_can_be_attached(cloud):
    iam = cloud.client("iam")
    iam.create_role(RoleName="notebook", AssumeRolePolicyDocument="{}")
    for arn in ("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"):
        iam.attach_role_policy(RoleName="notebook", PolicyArn=arn)
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="notebook")["AttachedPolicies"]}
    assert len(attached) == 2
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")["Policy"]
    assert policy["AttachmentCount"] == 1
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    assert any("sagemaker:*" in str(statement) for statement in version["Document"]["Statement"])
    for wrong in ("arn:aws:iam::aws:policy/NoSuchPolicy", "arn:aws:iam::aws:policy/service-role/AmazonSageMakerFullAccess"):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.attach_role_policy(RoleName="notebook", PolicyArn=wrong)
