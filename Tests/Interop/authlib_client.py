#!/usr/bin/env python3
"""Interoperability check: Authlib, an independent OAuth client library, against a running Registrar.

usage: authlib_client.py ISSUER

Registers three clients (client_secret_basic, client_secret_post, private_key_jwt) through the
registration API, obtains a client_credentials token with each through Authlib's OAuth2Session,
then introspects and revokes one. Prints one JSON line per step; exits non-zero on any failure.
"""
import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
from authlib.jose import JsonWebKey  # noqa: E402
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT


def main(issuer: str) -> int:
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    token_url = discovery["token_endpoint"]
    registration_url = discovery["registration_endpoint"]

    def register(body):
        response = requests.post(registration_url, json=body, timeout=10)
        if response.status_code != 201:
            raise SystemExit(f"registration failed: {response.status_code} {response.text}")
        return response.json()

    def check_token(label, token):
        assert token.get("token_type") == "Bearer", token
        assert token.get("access_token"), token
        assert token.get("scope") == "compute.read", token
        print(json.dumps({"step": label, "ok": True, "expires_in": token.get("expires_in")}))

    base = {"grant_types": ["client_credentials"], "scope": "compute.read compute.write"}

    # client_secret_basic
    basic = register({**base, "token_endpoint_auth_method": "client_secret_basic"})
    session = OAuth2Session(basic["client_id"], basic["client_secret"], token_endpoint_auth_method="client_secret_basic",
                            scope="compute.read")
    check_token("client_secret_basic", session.fetch_token(token_url, grant_type="client_credentials"))

    # client_secret_post
    post = register({**base, "token_endpoint_auth_method": "client_secret_post"})
    session = OAuth2Session(post["client_id"], post["client_secret"], token_endpoint_auth_method="client_secret_post",
                            scope="compute.read")
    check_token("client_secret_post", session.fetch_token(token_url, grant_type="client_credentials"))

    # client_secret_jwt (HS256)
    hs = register({**base, "token_endpoint_auth_method": "client_secret_jwt"})
    session = OAuth2Session(hs["client_id"], hs["client_secret"], token_endpoint_auth_method=ClientSecretJWT(token_url),
                            scope="compute.read")
    check_token("client_secret_jwt", session.fetch_token(token_url, grant_type="client_credentials"))

    # private_key_jwt (RS256), public key registered by value
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    key_id = "authlib-key-1"
    public = key.as_dict(is_private=False)
    public.update({"kid": key_id, "use": "sig", "alg": "RS256"})
    pk = register({**base, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public]}})
    private_pem = key.as_pem(is_private=True)
    session = OAuth2Session(pk["client_id"], private_pem,
                            token_endpoint_auth_method=PrivateKeyJWT(token_url, headers={"kid": key_id}, alg="RS256"),
                            revocation_endpoint_auth_method=PrivateKeyJWT(token_url, headers={"kid": key_id}, alg="RS256"),
                            scope="compute.read")
    token = session.fetch_token(token_url, grant_type="client_credentials")
    check_token("private_key_jwt", token)

    # introspection and revocation, authenticated with the basic client
    auth = (basic["client_id"], basic["client_secret"])
    introspected = requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth, timeout=10).json()
    assert introspected.get("active") is True and introspected.get("client_id") == pk["client_id"], introspected
    print(json.dumps({"step": "introspection", "ok": True}))
    # Only the token's own client may revoke it: the basic client's attempt changes nothing.
    requests.post(discovery["revocation_endpoint"], data={"token": token["access_token"]}, auth=auth, timeout=10).raise_for_status()
    assert requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth, timeout=10).json()["active"] is True
    session.revoke_token(discovery["revocation_endpoint"], token["access_token"]).raise_for_status()
    after = requests.post(discovery["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth, timeout=10).json()
    assert after == {"active": False}, after
    print(json.dumps({"step": "revocation", "ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/")))
