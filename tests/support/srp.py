"""A Cognito USER_SRP_AUTH client for tests (the client side of what the page does in JavaScript)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from mysfits_cli.local.cognito import G, K, N, authentication_key, claim_signature, hash_hex, pad_hex

TIMESTAMP = "Tue Jan 5 07:01:02 UTC 2021"


def sign_in(cognito: Any, pool_id: str, client_id: str, username: str, password: str) -> dict[str, Any]:
    """AuthenticationResult (IdToken, AccessToken, RefreshToken, ...) of an SRP sign-in through `cognito` (boto3)."""
    a = secrets.randbits(1024)
    big_a = pow(G, a, N)
    start = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH",
                                  AuthParameters={"USERNAME": username, "SRP_A": format(big_a, "x")})
    challenge = start["ChallengeParameters"]
    big_b = int(challenge["SRP_B"], 16)
    u = int(hash_hex(pad_hex(big_a) + pad_hex(big_b)), 16)
    pool_name = pool_id.split("_", 1)[1]
    user_id = challenge["USER_ID_FOR_SRP"]
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).hexdigest()
    x = int(hash_hex(pad_hex(int(challenge["SALT"], 16)) + inner), 16)
    premaster = pow((big_b - K * pow(G, x, N)) % N, a + u * x, N)
    signature = claim_signature(authentication_key(premaster, u), pool_name, user_id,
                                challenge["SECRET_BLOCK"], TIMESTAMP)
    done = cognito.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses={"USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": challenge["SECRET_BLOCK"],
                            "TIMESTAMP": TIMESTAMP, "PASSWORD_CLAIM_SIGNATURE": signature},
    )
    return done["AuthenticationResult"]


def confirmation_code(log: str, username: str) -> str:
    """The last confirmation code the local cloud printed for `username`."""
    prefix = f"cognito-idp: confirmation code for {username} in user pool "
    codes = [line.rsplit(": ", 1)[1].strip() for line in log.splitlines() if line.startswith(prefix)]
    if not codes:
        raise AssertionError(f"no confirmation code for {username} in the log")
    return codes[-1]
