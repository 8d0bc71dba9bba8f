"""Cognito sign-up and sign-in in the local cloud, as AWS plays them (emulator-only fixes to moto 5.2).

moto answers USER_SRP_AUTH with a random SALT and SRP_B and then accepts any
PASSWORD_CLAIM_SIGNATURE, so any password signs in; it confirms a sign-up whatever the
code; and it lets every app client use every auth flow. Here instead:

- USER_SRP_AUTH / PASSWORD_VERIFIER is real SRP-6a as Cognito does it (the 3072-bit group of
  RFC 3526, g = 2, SHA-256, the "Caldera Derived Key" HKDF): the server's B comes from a
  verifier made from the user's password, and a signature made with a wrong password is
  refused with NotAuthorizedException "Incorrect username or password."
- SignUp makes a six-digit confirmation code and, since the local cloud sends no e-mail,
  prints it to the local cloud's log (`mysfits local start` keeps it in server.log):
      cognito-idp: confirmation code for <username> in user pool <pool id>: 123456
  ConfirmSignUp refuses any other code (CodeMismatchException).
- InitiateAuth honours the app client's ExplicitAuthFlows (none listed: SRP, custom and
  refresh, as AWS defaults), answering "<FLOW> flow not enabled for this client".

`PATCHES` are applied by site_emulation.install(), in the server process or under mock_aws.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    InvalidParameterException,
    NotAuthorizedError,
    ResourceNotFoundError,
    UserNotConfirmedException,
)
from moto.cognitoidp.models import CognitoIdpBackend, UserStatus
from moto.cognitoidp.responses import CognitoIdpResponse

N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
G = 2
CHALLENGE_SECONDS = 180  # how long a PASSWORD_VERIFIER challenge may be answered
DEFAULT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
# AuthFlow -> the ExplicitAuthFlows entries that allow it (current and legacy names)
_ALLOWED_BY = {
    "USER_SRP_AUTH": ("ALLOW_USER_SRP_AUTH",),
    "USER_PASSWORD_AUTH": ("ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"),
    "CUSTOM_AUTH": ("ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"),
    "REFRESH_TOKEN_AUTH": ("ALLOW_REFRESH_TOKEN_AUTH",),
    "REFRESH_TOKEN": ("ALLOW_REFRESH_TOKEN_AUTH",),
}
_CODE_ATTRIBUTE = "_mysfits_confirmation_code"
_SALT_ATTRIBUTE = "_mysfits_srp_salt"


def pad_hex(value: int) -> str:
    """Even-length hex with a leading 00 when the top bit is set (a positive two's-complement number)."""
    text = format(value, "x")
    if len(text) % 2:
        text = "0" + text
    return "00" + text if text[0] in "89abcdef" else text


def hash_hex(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


K = int(hash_hex(pad_hex(N) + pad_hex(G)), 16)


def password_verifier(pool_name: str, user_id: str, password: str, salt_hex: str) -> int:
    inner = hashlib.sha256(f"{pool_name}{user_id}:{password}".encode()).hexdigest()
    x = int(hash_hex(pad_hex(int(salt_hex, 16)) + inner), 16)
    return pow(G, x, N)


def authentication_key(premaster: int, u: int) -> bytes:
    """HKDF-SHA256 of S with salt u and the info "Caldera Derived Key", first 16 bytes."""
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(premaster)), hashlib.sha256).digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]


def claim_signature(key: bytes, pool_name: str, user_id: str, secret_block: str, timestamp: str) -> str:
    message = pool_name.encode() + user_id.encode() + base64.b64decode(secret_block) + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


@dataclass
class _Challenge:
    pool: Any
    client_id: str
    username: str
    big_a: int
    b: int
    big_b: int
    verifier: int
    expires: float


_challenges: dict[str, _Challenge] = {}  # by SECRET_BLOCK
_lock = threading.Lock()


def _pool_and_client(backend: CognitoIdpBackend, client_id: str) -> tuple[Any, Any]:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    raise ResourceNotFoundError(client_id)


def _check_flow(client: Any, auth_flow: str) -> None:
    listed = client.extended_config.get("ExplicitAuthFlows") or DEFAULT_FLOWS
    allowed_by = _ALLOWED_BY.get(auth_flow)
    if allowed_by is not None and not set(allowed_by) & set(listed):
        raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")


def _start_srp(backend: CognitoIdpBackend, pool: Any, client: Any, parameters: dict[str, str]) -> dict[str, Any]:
    username, srp_a = parameters.get("USERNAME"), parameters.get("SRP_A")
    if not username or not srp_a:
        raise InvalidParameterException("USERNAME and SRP_A are required for USER_SRP_AUTH")
    try:
        big_a = int(srp_a, 16)
    except ValueError:
        raise InvalidParameterException("SRP_A is not a hexadecimal number") from None
    if big_a % N == 0:
        raise InvalidParameterException("SRP_A is invalid")
    user = backend.admin_get_user(pool.id, username)
    if not user.enabled:
        raise NotAuthorizedError("User is disabled.")
    if user.status == UserStatus.UNCONFIRMED:
        raise UserNotConfirmedException("User is not confirmed.")
    salt = getattr(user, _SALT_ATTRIBUTE, None) or secrets.token_hex(16)
    setattr(user, _SALT_ATTRIBUTE, salt)
    pool_name = pool.id.split("_", 1)[1]
    verifier = password_verifier(pool_name, user.username, user.password, salt)
    b = secrets.randbits(1024)
    big_b = (K * verifier + pow(G, b, N)) % N
    secret_block = base64.b64encode(secrets.token_bytes(64)).decode()
    with _lock:
        now = time.monotonic()
        for stale in [block for block, c in _challenges.items() if c.expires < now]:
            del _challenges[stale]
        _challenges[secret_block] = _Challenge(pool, client.id, user.username, big_a, b, big_b, verifier,
                                               now + CHALLENGE_SECONDS)
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {
            "SALT": salt, "SRP_B": format(big_b, "x"), "SECRET_BLOCK": secret_block,
            "USERNAME": user.username, "USER_ID_FOR_SRP": user.username,
        },
    }


def _finish_srp(backend: CognitoIdpBackend, client_id: str, responses: dict[str, str]) -> dict[str, Any]:
    secret_block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
    with _lock:
        challenge = _challenges.pop(secret_block, None)
    if challenge is None or challenge.client_id != client_id or challenge.expires < time.monotonic():
        raise NotAuthorizedError("Invalid session for the user, session is expired.")
    if responses.get("USERNAME") not in (challenge.username, None):
        raise NotAuthorizedError("Incorrect username or password.")
    u = int(hash_hex(pad_hex(challenge.big_a) + pad_hex(challenge.big_b)), 16)
    premaster = pow(challenge.big_a * pow(challenge.verifier, u, N) % N, challenge.b, N)
    pool_name = challenge.pool.id.split("_", 1)[1]
    expected = claim_signature(authentication_key(premaster, u), pool_name, challenge.username, secret_block,
                               responses.get("TIMESTAMP", ""))
    if u == 0 or not hmac.compare_digest(expected, responses.get("PASSWORD_CLAIM_SIGNATURE", "")):
        raise NotAuthorizedError("Incorrect username or password.")
    user = backend.admin_get_user(challenge.pool.id, challenge.username)
    if user.status == UserStatus.FORCE_CHANGE_PASSWORD:
        session = secrets.token_urlsafe(32)
        backend.sessions[session] = (challenge.username, challenge.pool)
        return {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
                "ChallengeParameters": {"USERNAME": challenge.username}}
    client = challenge.pool.clients[client_id]
    return backend._log_user_in(challenge.pool, client, challenge.username)


def _check_confirmation_code(backend: CognitoIdpBackend, client_id: str, username: str, code: str) -> None:
    pool, _ = _pool_and_client(backend, client_id)
    user = backend.admin_get_user(pool.id, username)
    if user.status != UserStatus.UNCONFIRMED:
        raise NotAuthorizedError(f"User cannot be confirmed. Current status is {user.status}")
    if not hmac.compare_digest(str(getattr(user, _CODE_ATTRIBUTE, "")), str(code or "")):
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    setattr(user, _CODE_ATTRIBUTE, None)


def _initiate_auth(original: Any) -> Any:
    def initiate_auth(self: CognitoIdpBackend, client_id: str, auth_flow: str,
                      auth_parameters: dict[str, str]) -> dict[str, Any]:
        pool, client = _pool_and_client(self, client_id)
        _check_flow(client, auth_flow)
        if auth_flow == "USER_SRP_AUTH":
            return _start_srp(self, pool, client, auth_parameters or {})
        return original(self, client_id, auth_flow, auth_parameters)
    return initiate_auth


def _respond_to_auth_challenge(original: Any) -> Any:
    def respond_to_auth_challenge(self: CognitoIdpBackend, session: str, client_id: str, challenge_name: str,
                                  challenge_responses: dict[str, str]) -> dict[str, Any]:
        if challenge_name == "PASSWORD_VERIFIER":
            return _finish_srp(self, client_id, challenge_responses or {})
        return original(self, session, client_id, challenge_name, challenge_responses)
    return respond_to_auth_challenge


def _sign_up(original: Any) -> Any:
    def sign_up(self: CognitoIdpBackend, client_id: str, username: str, password: str,
                attributes: list[dict[str, str]]) -> Any:
        user, details = original(self, client_id, username, password, attributes)
        code = f"{secrets.randbelow(10**6):06d}"
        setattr(user, _CODE_ATTRIBUTE, code)
        print(f"cognito-idp: confirmation code for {username} in user pool {user.user_pool_id}: {code}", flush=True)
        return user, details
    return sign_up


def _confirm_sign_up(original: Any) -> Any:
    def confirm_sign_up(self: CognitoIdpResponse) -> Any:
        client_id = self._get_param("ClientId")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        _check_confirmation_code(backend, client_id, self._get_param("Username"), self._get_param("ConfirmationCode"))
        return original(self)
    return confirm_sign_up


PATCHES = [
    (CognitoIdpBackend, "initiate_auth", _initiate_auth),
    (CognitoIdpBackend, "respond_to_auth_challenge", _respond_to_auth_challenge),
    (CognitoIdpBackend, "sign_up", _sign_up),
    (CognitoIdpResponse, "confirm_sign_up", _confirm_sign_up),
]
