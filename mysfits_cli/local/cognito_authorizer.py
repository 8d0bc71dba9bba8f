"""API Gateway's Cognito user-pool authorizers in the local cloud.

moto 5.2's import of an OpenAPI document (import_rest_api, put_rest_api) drops the
`x-amazon-apigateway-authorizer` security schemes and each method's `security`, so nothing
would tell the data plane that like and adopt need a signed-in visitor. The emulator-only fix
(`PATCHES`): after moto's own import, each Cognito scheme becomes an authorizer
(COGNITO_USER_POOLS, its provider ARNs, identity source method.request.header.<name>), and each
method that names one gets authorizationType COGNITO_USER_POOLS and its authorizerId, as AWS
keeps them. `allows()` then does what such an authorizer does with a request.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Mapping

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from moto.apigateway.models import APIGatewayBackend
from moto.utilities.utils import load_resource

AUTHORIZER_TYPE = "COGNITO_USER_POOLS"


def _put_rest_api(original: Any) -> Any:
    def put_rest_api(self: APIGatewayBackend, function_id: str, api_doc: dict[str, Any],
                     fail_on_warnings: bool, mode: str = "merge") -> Any:
        api = original(self, function_id, api_doc, fail_on_warnings, mode)
        authorizer_ids = _import_authorizers(self, api, api_doc)
        default_security = api_doc.get("security") or []
        for path, operations in (api_doc.get("paths") or {}).items():
            resource = api.get_resource_for_path(path)
            for verb, operation in operations.items():
                method = resource.resource_methods.get(verb.upper()) if resource else None
                requirements = operation.get("security", default_security) if isinstance(operation, dict) else []
                names = [name for requirement in requirements for name in requirement if name in authorizer_ids]
                if method is not None and names:
                    method.authorization_type = AUTHORIZER_TYPE
                    method.authorizer_id = authorizer_ids[names[0]]
        return api
    return put_rest_api


def _import_authorizers(backend: APIGatewayBackend, api: Any, api_doc: dict[str, Any]) -> dict[str, str]:
    ids = {}
    schemes = (api_doc.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        settings = scheme.get("x-amazon-apigateway-authorizer") or {}
        if str(settings.get("type", "")).lower() != AUTHORIZER_TYPE.lower():
            continue
        arns = list(settings.get("providerARNs") or [])
        source = f"method.request.header.{scheme.get('name') or 'Authorization'}"
        existing = next((a for a in api.authorizers.values() if a.name == name), None)
        if existing is None:
            existing = backend.create_authorizer(restapi_id=api.id, name=name, authorizer_type=AUTHORIZER_TYPE,
                                                 provider_arns=arns, identity_source=source)
        existing.provider_arns, existing.identity_source = arns, source
        ids[name] = existing.id
    return ids


PATCHES = [(APIGatewayBackend, "put_rest_api", _put_rest_api)]


def allows(api: Any, method: Any, headers: Mapping[str, str]) -> bool:
    """Whether API Gateway lets the request through the method's Cognito authorizer (if it has one).

    As the authorizer does: the identity source header holds a Cognito ID token (no "Bearer "),
    signed with the pool's published keys, issued by the pool, for one of its app clients, not expired.
    """
    if str(method.authorization_type or "").upper() != AUTHORIZER_TYPE:
        return True
    authorizer = api.authorizers.get(method.authorizer_id)
    if authorizer is None:
        return False
    header = (authorizer.identity_source or "method.request.header.Authorization").rsplit(".", 1)[-1]
    token = headers.get(header, "")
    return bool(token) and any(_valid_id_token(token, arn) for arn in authorizer.provider_arns or [])


def _valid_id_token(token: str, pool_arn: str) -> bool:
    from moto.cognitoidp.models import cognitoidp_backends

    try:
        _, _, _, region, account_id, resource = pool_arn.split(":", 5)
        pool_id = resource.split("/", 1)[1]
        pool = cognitoidp_backends[account_id][region].user_pools.get(pool_id)
        claims = jwt.decode(token, _pool_keys(), algorithms=["RS256"]).claims
    except (JoseError, ValueError, IndexError, KeyError):
        return False
    expires = claims.get("exp")
    return (
        pool is not None
        and claims.get("iss") == f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        and claims.get("token_use") == "id"
        and claims.get("aud") in pool.clients
        and isinstance(expires, (int, float)) and expires > time.time()
    )


@lru_cache(maxsize=1)
def _pool_keys() -> KeySet:
    """The keys moto publishes at every pool's /.well-known/jwks.json (one key pair for all pools)."""
    return KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))
