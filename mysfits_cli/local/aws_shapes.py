"""Responses as AWS shapes them: emulator-only fixes to what moto 5.2 answers.

Each fix says what moto answers, what AWS answers (botocore's output shapes, the API references,
what clients read) and what we change; each is one function, and the pure ones that reshape a
response are named `*_as_aws` so they can be checked on their own. `install()` applies them all
(the local cloud's emulation does), `uninstall()` puts moto's own methods back.
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.awslambda.models import LambdaFunction
from moto.cloudfront.models import Distribution
from moto.cognitoidp.models import CognitoIdpUserPool
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.elbv2.models import ELBv2Backend
from moto.sagemaker.responses import SageMakerResponse

from .patching import Patches

_PATCHES = Patches("aws-shapes")
_BASE62 = string.digits + string.ascii_letters


def install() -> None:
    _PATCHES.install(_sagemaker_descriptions, _lambda_last_modified, _network_load_balancer_names,
                     _user_pool_ids, _integration_types_in_capitals, _distribution_summaries)


def uninstall() -> None:
    _PATCHES.restore()


def _reshape(owner: type, operation: str, reshape) -> None:
    """Pass what `owner.operation` answers (an ActionResult of a dict) through `reshape(handler, response)`.

    At the response, not in moto's objects: moto reads its own descriptions back internally."""

    def answer(original, handler: Any, *args: Any, **kwargs: Any) -> ActionResult:
        result = original(handler, *args, **kwargs)
        return ActionResult(reshape(handler, dict(result.result)))

    _PATCHES.wrap(owner, operation, answer)


# -- SageMaker ------------------------------------------------------------------------------


def _sagemaker_descriptions() -> None:
    """DescribeTrainingJob, DescribeEndpoint, DescribeEndpointConfig and DescribeModel as AWS answers them.

    moto: OutputDataConfig without KmsKeyId; `"DataCaptureConfig": {}` (an endpoint, an endpoint
    config) and `"VpcConfig": {}` (a model) when none was given, though both shapes have required
    members; endpoint variants without CurrentWeight, DesiredWeight or DeployedImages.
    AWS: KmsKeyId is "" when unset (the SageMaker Python SDK's Estimator.attach reads it:
    `KeyError: 'KmsKeyId'` otherwise); an unset DataCaptureConfig or VpcConfig is left out; each
    variant has its weights (InitialVariantWeight, 1.0 by default) and the image it runs
    (DeployedImages: SpecifiedImage, ResolvedImage by digest, ResolutionTime).
    We: the same.
    """
    _reshape(SageMakerResponse, "describe_training_job", lambda _, response: training_job_as_aws(response))
    _reshape(SageMakerResponse, "describe_endpoint",
             lambda handler, response: endpoint_as_aws(response, _images(handler.sagemaker_backend, response)))
    _reshape(SageMakerResponse, "describe_endpoint_config", lambda _, response: endpoint_config_as_aws(response))
    _reshape(SageMakerResponse, "describe_model", lambda _, response: model_as_aws(response))


def training_job_as_aws(response: dict[str, Any]) -> dict[str, Any]:
    output = dict(response.get("OutputDataConfig") or {})
    output.setdefault("KmsKeyId", "")
    return {**response, "OutputDataConfig": output}


def endpoint_as_aws(response: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """`images`: each variant's container image."""
    response = _without_empty(response, "DataCaptureConfig")
    variants = []
    for variant in response.get("ProductionVariants") or []:
        variant = {"CurrentWeight": 1.0, "DesiredWeight": 1.0, **variant}
        image = images.get(variant.get("VariantName", ""))
        if image and "DeployedImages" not in variant:
            variant["DeployedImages"] = [{"SpecifiedImage": image, "ResolvedImage": resolved_image(image),
                                          "ResolutionTime": response.get("CreationTime") or utcnow()}]
        variants.append(variant)
    if variants:
        response["ProductionVariants"] = variants
    return response


def endpoint_config_as_aws(response: dict[str, Any]) -> dict[str, Any]:
    response = _without_empty(response, "DataCaptureConfig")
    variants = [{"InitialVariantWeight": 1.0, **variant} for variant in response.get("ProductionVariants") or []]
    return {**response, "ProductionVariants": variants} if variants else response


def model_as_aws(response: dict[str, Any]) -> dict[str, Any]:
    return _without_empty(response, "VpcConfig")


def resolved_image(image: str) -> str:
    """The image by digest, as SageMaker resolves a tag when it deploys it (one digest per image here)."""
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _without_empty(response: dict[str, Any], member: str) -> dict[str, Any]:
    return {key: value for key, value in response.items() if not (key == member and not value)}


def _images(backend: Any, endpoint: dict[str, Any]) -> dict[str, str]:
    """Each variant's container image, from the endpoint's config and its models."""
    config = backend.endpoint_configs.get(endpoint.get("EndpointConfigName"))
    images = {}
    for variant in (config.production_variants if config else []):
        model = backend._models.get(variant.get("ModelName"))
        container = (model.primary_container or (model.containers or [{}])[0]) if model else {}
        if container.get("Image"):
            images[variant.get("VariantName", "")] = container["Image"]
    return images


# -- Lambda -----------------------------------------------------------------------------------


def _lambda_last_modified() -> None:
    """A function's LastModified reads as Lambda writes it.

    moto: `2026-12-03T04:01:51.650123000Z` (nanoseconds and `Z`).
    AWS: `2026-12-03T04:01:51.650+0000` (milliseconds and `+0000`; Lambda API reference,
    FunctionConfiguration: "The date and time that the function was last updated, in ISO-8601
    format (YYYY-MM-DDThh:mm:ss.sTZD)").
    We: the same, in every answer that carries a function's configuration.
    """

    def configuration(original, function: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(function, *args, **kwargs)
        if config.get("LastModified"):
            config["LastModified"] = lambda_timestamp(config["LastModified"])
        return config

    _PATCHES.wrap(LambdaFunction, "get_configuration", configuration)


def lambda_timestamp(value: str) -> str:
    """moto's ISO 8601 timestamp in Lambda's form (milliseconds, +0000)."""
    if value.endswith("+0000"):
        return value
    stamp = value.rstrip("Z").split("+", 1)[0]
    seconds, _, fraction = stamp.partition(".")
    return f"{seconds}.{(fraction + '000')[:3]}+0000"


# -- Elastic Load Balancing ------------------------------------------------------------------


def _network_load_balancer_names() -> None:
    """A network load balancer's ARN and DNS name are those of a network load balancer.

    moto: every load balancer's ARN reads `loadbalancer/app/<name>/<id>` and its DNS name
    `<name>-1.<region>.elb.amazonaws.com`, the application load balancer's forms.
    AWS: a network load balancer's ARN reads `loadbalancer/net/<name>/<id>` and its DNS name
    `<name>-<id>.elb.<region>.amazonaws.com` (Elastic Load Balancing API reference; ARN formats of
    Elastic Load Balancing in the Service Authorization Reference).
    We: the same for load balancers of type `network`.
    """

    def create(original, backend: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        balancer = original(backend, *args, **kwargs)
        if balancer.type != "network":
            return balancer
        old_arn = balancer.arn
        balancer.arn = old_arn.replace(":loadbalancer/app/", ":loadbalancer/net/", 1)
        balancer.dns_name = f"{balancer.name}-{old_arn.rsplit('/', 1)[-1]}.elb.{backend.region_name}.amazonaws.com"
        backend.load_balancers[balancer.arn] = backend.load_balancers.pop(old_arn)
        tags = backend.tagging_service.tags.pop(old_arn, None)
        if tags is not None:
            backend.tagging_service.tags[balancer.arn] = tags
        return balancer

    _PATCHES.wrap(ELBv2Backend, "create_load_balancer", create)


# -- Cognito ---------------------------------------------------------------------------------


def _user_pool_ids() -> None:
    """A user pool's id is `<region>_` and nine letters and digits.

    moto: `<region>_` and 32 hexadecimal characters.
    AWS: `<region>_` and 9 characters of [0-9a-zA-Z], e.g. `us-east-1_aBCdEfGhI` (Cognito
    developer guide and API reference examples; the id is also the `iss` of the pool's tokens).
    We: nine such characters, drawn from moto's id (so moto's id strategies stay deterministic).
    """

    def init(original, pool: CognitoIdpUserPool, *args: Any, **kwargs: Any) -> None:
        original(pool, *args, **kwargs)
        prefix, _, generated = pool.id.partition("_")
        pool.id = f"{prefix}_{user_pool_suffix(generated)}"
        pool.arn = f"{pool.arn.rsplit('/', 1)[0]}/{pool.id}"

    _PATCHES.wrap(CognitoIdpUserPool, "__init__", init)


def user_pool_suffix(generated: str) -> str:
    number = int(hashlib.sha256(generated.encode()).hexdigest(), 16)
    digits = []
    for _ in range(9):
        number, digit = divmod(number, len(_BASE62))
        digits.append(_BASE62[digit])
    return "".join(digits)


# -- API Gateway ------------------------------------------------------------------------------


def _integration_types_in_capitals() -> None:
    """An integration's type is kept in capitals, whatever case it was given in.

    moto: keeps the case given (`"type": "aws_proxy"` in an OpenAPI document is answered
    `aws_proxy`), which is not a value of the IntegrationType enum.
    AWS: the x-amazon-apigateway-integration `type` is case-insensitive and answered as the enum
    value (`AWS_PROXY`, `HTTP_PROXY`, `MOCK`, ...), as GetIntegration shows.
    We: the enum value.
    """

    def put_integration(original, backend: APIGatewayBackend, function_id: str, resource_id: str, method_type: str,
                        integration_type: str, *args: Any, **kwargs: Any) -> Any:
        return original(backend, function_id, resource_id, method_type, str(integration_type).upper(), *args, **kwargs)

    _PATCHES.wrap(APIGatewayBackend, "put_integration", put_integration)


# -- CloudFront -------------------------------------------------------------------------------


def _distribution_summaries() -> None:
    """ListDistributions' summaries say whether a distribution is a staging one.

    moto: DistributionSummary without `Staging`, a required member.
    AWS: `Staging` is false for a distribution that is not a staging distribution of continuous
    deployment (CloudFront API reference, DistributionSummary).
    We: false, as every distribution here is a primary one.
    """

    def init(original, distribution: Distribution, *args: Any, **kwargs: Any) -> None:
        original(distribution, *args, **kwargs)
        distribution.staging = False

    _PATCHES.wrap(Distribution, "__init__", init)
