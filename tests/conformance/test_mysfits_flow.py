"""mysfits' own flow, and boto3 reading back all it made: every response shaped as AWS's.

The stack (all but the notebook) is brought up by mysfits in this process, so each of its calls is
checked against botocore's output shapes; then boto3 describes and lists each resource, and the
recommendations API is called as a page would, through the warm Lambda execution environment.
"""

from __future__ import annotations

import json
import re
import urllib.request

import boto3
import pytest

from tests.support.cloud import FAKE_CREDENTIALS


@pytest.fixture(scope="module")
def aws(cloud):
    session = boto3.session.Session(region_name=cloud.region, aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return lambda service: session.client(service, endpoint_url=cloud.url)


def test_every_response_of_mysfits_up_was_checked(stack):
    assert {"sagemaker.CreateTrainingJob", "sagemaker.DescribeTrainingJob", "sagemaker.CreateEndpoint",
            "sagemaker.DescribeEndpoint", "sagemaker-runtime.InvokeEndpoint", "lambda.CreateFunction",
            "lambda.GetFunction", "apigateway.PutRestApi", "apigateway.CreateDeployment", "iam.CreateRole",
            "elbv2.DescribeLoadBalancers", "cognito-idp.DescribeUserPoolClient", "cloudfront.CreateInvalidation",
            "logs.CreateLogGroup", "s3.PutObject", "sts.GetCallerIdentity"} <= set(stack.checked)


def test_status_json_carries_what_a_page_signs_in_with(stack, aws):
    outputs = stack.outputs
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=outputs["user_pool_id"])["UserPool"]
    assert pool["Name"] == "MysfitsUserPool"
    client = aws("cognito-idp").describe_user_pool_client(UserPoolId=pool["Id"], ClientId=outputs["user_pool_client_id"])
    assert client["UserPoolClient"]["ClientName"] == "MysfitsUserPoolClient"
    assert outputs["cognito_endpoint_url"] == aws("sts").meta.endpoint_url + "/"
    assert outputs["mysfits_api_url"] and outputs["recommendations_api_url"]


def test_ids_and_timestamps_are_in_aws_formats(stack, aws):
    assert re.fullmatch(r"us-east-1_[0-9A-Za-z]{9}", stack.outputs["user_pool_id"])
    nlb = aws("elbv2").describe_load_balancers(Names=["mysfits-nlb"])["LoadBalancers"][0]
    assert re.fullmatch(r"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/mysfits-nlb/[0-9a-f]{16}",
                        nlb["LoadBalancerArn"])
    assert re.fullmatch(r"mysfits-nlb-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com", nlb["DNSName"])
    function = aws("lambda").get_function_configuration(FunctionName="mysfits-recommendations")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", function["LastModified"])
    request_id = function["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", request_id)


def test_everything_the_stack_made_reads_back_in_aws_shapes(stack, aws, shapes):
    checked = len(shapes.checked)
    sagemaker = aws("sagemaker")
    for job in sagemaker.list_training_jobs()["TrainingJobSummaries"]:
        described = sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
        assert described["OutputDataConfig"]["KmsKeyId"] == ""
    endpoint = sagemaker.describe_endpoint(EndpointName=stack.outputs["endpoint_name"])
    assert "DataCaptureConfig" not in endpoint
    variant = endpoint["ProductionVariants"][0]
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0 and variant["DeployedImages"]
    sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    for model in sagemaker.list_models()["Models"]:
        sagemaker.describe_model(ModelName=model["ModelName"])
    functions = aws("lambda")
    for function in functions.list_functions()["Functions"]:
        functions.get_function(FunctionName=function["FunctionName"])
        functions.get_policy(FunctionName=function["FunctionName"])
    gateway = aws("apigateway")
    for api in gateway.get_rest_apis()["items"]:
        for read in (gateway.get_stages, gateway.get_resources, gateway.get_deployments, gateway.get_authorizers):
            read(restApiId=api["id"])
    gateway.get_vpc_links()
    iam = aws("iam")
    for role in iam.list_roles()["Roles"]:
        iam.list_role_policies(RoleName=role["RoleName"])
        iam.list_attached_role_policies(RoleName=role["RoleName"])
    cognito = aws("cognito-idp")
    for pool in cognito.list_user_pools(MaxResults=10)["UserPools"]:
        cognito.describe_user_pool(UserPoolId=pool["Id"])
        cognito.list_user_pool_clients(UserPoolId=pool["Id"])
    logs = aws("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        logs.describe_log_streams(logGroupName=group["logGroupName"])
    for bucket in aws("s3").list_buckets()["Buckets"]:
        aws("s3").list_objects_v2(Bucket=bucket["Name"])
    aws("dynamodb").describe_table(TableName="MysfitsTable")
    for distribution in aws("cloudfront").list_distributions()["DistributionList"].get("Items", []):
        aws("cloudfront").get_distribution(Id=distribution["Id"])
    aws("ec2").describe_subnets()
    aws("sts").get_caller_identity()
    services = {name.split(".")[0] for name in shapes.checked[checked:]}
    assert services >= {"sagemaker", "lambda", "apigateway", "iam", "cognito-idp", "logs", "s3", "dynamodb",
                        "cloudfront", "ec2", "sts"}


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_the_recommendations_api_runs_one_warm_environment_the_invoke_api_shares(stack, aws):
    url = stack.outputs["recommendations_api_url"] + "/recommendations"
    answers = [post(url, {"entry": [1, 2, 3, 4, 5]}) for _ in range(3)]
    assert all(status == 200 and "recommendedMysfit" in body for status, body in answers)
    invoked = aws("lambda").invoke(FunctionName="mysfits-recommendations", LogType="Tail",
                                   Payload=json.dumps({"httpMethod": "POST", "body": json.dumps({"entry": [1, 2, 3, 4, 5]})}))
    assert json.loads(json.loads(invoked["Payload"].read())["body"]) == answers[0][1]
    logs = aws("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/mysfits-recommendations")["logStreams"]
    assert len(streams) == 1  # one execution environment served the API and the Invoke API
    reports = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/mysfits-recommendations")["events"]
               if e["message"].startswith("REPORT")]
    assert len(reports) >= 4 and sum("Init Duration" in report for report in reports) == 1
