"""The moto fixes the local cloud applies."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mysfits_cli.local import patches

CORS_MOCK = {
    "type": "mock",
    "requestTemplates": {"application/json": '{"statusCode": 200}'},
    "passthroughBehavior": "when_no_match",
    "responses": {
        "default": {
            "statusCode": "200",
            "responseParameters": {
                "method.response.header.Access-Control-Allow-Origin": "'*'",
                "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,POST'",
            },
        }
    },
}


def _document() -> str:
    return json.dumps({
        "openapi": "3.0.1",
        "info": {"title": "patched", "description": "a MOCK integration as AWS documents it", "version": "1"},
        "paths": {
            "/recommendations": {
                "options": {
                    "responses": {"200": {"description": "CORS"}},
                    "x-amazon-apigateway-integration": CORS_MOCK,
                }
            }
        },
    })


def _options_integration(client, api_id: str) -> dict:
    resources = client.get_resources(restApiId=api_id)["items"]
    resource = next(r for r in resources if r["path"] == "/recommendations")
    return client.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="OPTIONS")


def test_unpatched_moto_fails_on_a_documented_mock_integration():
    """Guards the reason for the fix: drop it once moto imports this itself."""
    original = patches.APIGatewayBackend.put_integration
    unpatched = getattr(original, "__wrapped__", original)
    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(patches.APIGatewayBackend, "put_integration", unpatched)
        client = boto3.client("apigateway", region_name="us-east-1")
        with pytest.raises(TypeError, match="uri"):
            client.import_rest_api(body=_document(), failOnWarnings=True)


def test_import_with_mock_integration_succeeds_after_apply():
    with mock_aws():
        patches.apply()
        client = boto3.client("apigateway", region_name="us-east-1")
        api_id = client.import_rest_api(body=_document(), failOnWarnings=True)["id"]
        integration = _options_integration(client, api_id)
    assert integration["type"].upper() == "MOCK"
    assert "uri" not in integration
    response = integration["integrationResponses"]["200"]
    assert response["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == "'*'"


def test_put_rest_api_also_accepts_it():
    with mock_aws():
        patches.apply()
        client = boto3.client("apigateway", region_name="us-east-1")
        api_id = client.create_rest_api(name="patched")["id"]
        client.put_rest_api(restApiId=api_id, mode="overwrite", body=_document())
        assert _options_integration(client, api_id)["type"].upper() == "MOCK"


def test_apply_is_idempotent():
    patches.apply()
    first = patches.APIGatewayBackend.put_integration
    patches.apply()
    assert patches.APIGatewayBackend.put_integration is first
    assert first.__wrapped__.__name__ == "put_integration"
    assert not hasattr(first.__wrapped__, "__wrapped__")


def _linked_document(link_id: str) -> str:
    return json.dumps({
        "openapi": "3.0.1",
        "info": {"title": "linked", "description": "an HTTP_PROXY integration through a VPC link", "version": "1"},
        "paths": {"/mysfits": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": "http://nlb.example.com/mysfits",
                "connectionType": "VPC_LINK", "connectionId": link_id,
            },
        }}},
    })


def test_an_imported_integration_keeps_its_vpc_link():
    with mock_aws():
        patches.apply()
        client = boto3.client("apigateway", region_name="us-east-1")
        api_id = client.import_rest_api(body=_linked_document("abc123"))["id"]
        resource = next(r for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/mysfits")
        integration = client.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="GET")
    assert (integration["connectionType"], integration["connectionId"]) == ("VPC_LINK", "abc123")


def test_put_integration_keeps_its_vpc_link():
    with mock_aws():
        patches.apply()
        client = boto3.client("apigateway", region_name="us-east-1")
        api_id = client.create_rest_api(name="linked")["id"]
        root = client.get_resources(restApiId=api_id)["items"][0]["id"]
        client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
        put = client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="HTTP_PROXY",
                                     integrationHttpMethod="GET", uri="http://nlb.example.com/",
                                     connectionType="VPC_LINK", connectionId="abc123")
        got = client.get_integration(restApiId=api_id, resourceId=root, httpMethod="GET")
    assert put["connectionId"] == got["connectionId"] == "abc123"


def test_endpoint_configs_take_t3_instances():
    from moto.sagemaker.models import FakeEndpointConfig

    unpatched = getattr(FakeEndpointConfig.validate_instance_type, "__wrapped__", FakeEndpointConfig.validate_instance_type)
    with mock_aws():
        patches.apply()
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model(ModelName="m", PrimaryContainer={"Image": "i"},
                            ExecutionRoleArn="arn:aws:iam::123456789012:role/r")
        variant = {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.t3.medium"}
        client.create_endpoint_config(EndpointConfigName="t3", ProductionVariants=[variant])
        with pytest.MonkeyPatch.context() as mp:  # guards the reason for the fix: drop it once moto takes ml.t3
            mp.setattr(FakeEndpointConfig, "validate_instance_type", unpatched)
            with pytest.raises(Exception, match="ml.t3.medium"):
                client.create_endpoint_config(EndpointConfigName="t3-unpatched", ProductionVariants=[variant])


def test_deleting_a_vpc_link_that_is_not_there_is_not_found_as_on_aws():
    with mock_aws():
        patches.apply()
        client = boto3.client("apigateway", region_name="us-east-1")
        with pytest.raises(client.exceptions.NotFoundException):
            client.delete_vpc_link(vpcLinkId="nosuchlink")
