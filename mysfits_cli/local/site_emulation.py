"""What the local cloud plays for the site, on top of moto (emulator-only, documented where each lives):

- cognito.py: SRP sign-in, confirmation codes and app-client auth flows as Cognito plays them;
- cognito_authorizer.py: API Gateway keeps the Cognito authorizers of an imported document;
- gateway_responses.py: API Gateway keeps the gateway responses of an imported document (CORS on its own 4XX/5XX);
- webhost.py: CloudFront invalidations say Completed, as AWS does.

`install()` applies them once (the local cloud's server, or tests under mock_aws);
`uninstall()` puts moto's own methods back.
"""

from __future__ import annotations

from typing import Any

_applied: list[tuple[type, str, Any]] = []  # (owner, name, moto's original)


def install() -> None:
    if _applied:
        return
    from . import cognito, cognito_authorizer, gateway_responses, webhost

    for owner, name, make in [*cognito.PATCHES, *cognito_authorizer.PATCHES, *gateway_responses.PATCHES,
                              *webhost.patches()]:
        original = owner.__dict__[name]
        _applied.append((owner, name, original))
        setattr(owner, name, make(original))


def uninstall() -> None:
    while _applied:
        owner, name, original = _applied.pop()
        setattr(owner, name, original)
