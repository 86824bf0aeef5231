"""A small, real OpenID Connect provider for the tests, on 127.0.0.1 in a thread, on a free port.

It serves what Rollcall's single sign-on uses: the discovery document, the JWKS, the authorization endpoint
(authorization code flow, PKCE with S256 required), the token endpoint (client secret checked, code verifier checked
against the challenge, an ID token signed RS256 with joserfc) and the userinfo endpoint.

A test says who signs in next (`provider.user`) and may spoil the ID token to see it refused: `id_token_changes`
overrides or (with REMOVE) drops claims, `sign_with` signs it with another key under the provider's key id.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from accounts import oidc

CLIENT_ID = "rollcall-tests"
REMOVE = object()


@cache
def rsa_key(kid: str) -> RSAKey:
    """An RS256 signing key, made once per test process (making one takes a moment)."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


class OidcProvider:
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str | None = None):
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.key = rsa_key("provider-key")
        self.sign_with = self.key
        self.user = {"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []}
        self.id_token_changes: dict = {}
        self.consent_page = False
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.requests: list[str] = []
        self.token_requests: list[dict] = []
        self.issued_tokens: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- endpoints ------------------------------------------------------------------------------------------------

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        """Check the request, then send the browser back with a code (the user is `self.user`)."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {"Content-Type": "text/plain"}, b"unknown client or redirect_uri"
        problem = None
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            problem = "unsupported_response_type"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problem = "invalid_request"
        if problem:
            back = {"error": problem, "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": query["code_challenge"],
                "nonce": query.get("nonce"),
                "user": dict(self.user),
            }
            back = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{redirect_uri}?{urlencode(back)}"}, b""

    def consent(self, query: dict) -> tuple[int, dict, bytes]:
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
        )
        page = (
            "<!doctype html><title>Test identity provider</title><h1>Test identity provider</h1>"
            f'<form method="post" action="/authorize">{fields}'
            f"<button>Continue as {html.escape(self.user['preferred_username'])}</button></form>"
        )
        return 200, {"Content-Type": "text/html"}, page.encode()

    def token(self, form: dict, authorization: str | None) -> tuple[int, dict, bytes]:
        """Trade a code for tokens: the client's secret, the redirect URI and the PKCE verifier must match."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        self.token_requests.append({name: value for name, value in form.items() if name != "client_secret"})
        if client_id != self.client_id or secret != self.client_secret:
            return self._json(401, {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant["redirect_uri"] != form.get("redirect_uri")
            or s256(form.get("code_verifier", "")) != grant["challenge"]
        ):
            return self._json(400, {"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["user"],
        }
        for name, value in self.id_token_changes.items():
            if value is REMOVE:
                claims.pop(name, None)
            else:
                claims[name] = value
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.sign_with)
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = {
            k: v for k, v in grant["user"].items() if self.id_token_changes.get(k) is not REMOVE
        }
        self.issued_tokens += [id_token, access_token]
        return self._json(
            200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        )

    def userinfo(self, authorization: str | None) -> tuple[int, dict, bytes]:
        claims = self.access_tokens.get((authorization or "").removeprefix("Bearer "))
        if claims is None:
            return self._json(401, {"error": "invalid_token"})
        return self._json(200, claims)

    @staticmethod
    def _json(status: int, body: dict) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body).encode()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                provider.requests.append(f"GET {url.path}")
                query = dict(parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self.answer(*provider._json(200, provider.discovery()))
                elif url.path == "/jwks":
                    self.answer(*provider._json(200, {"keys": [provider.key.as_dict(private=False)]}))
                elif url.path == "/authorize":
                    self.answer(*(provider.consent(query) if provider.consent_page else provider.authorize(query)))
                elif url.path == "/userinfo":
                    self.answer(*provider.userinfo(self.headers.get("Authorization")))
                else:
                    self.answer(404, {"Content-Type": "text/plain"}, b"not found")

            def do_POST(self):
                url = urlsplit(self.path)
                provider.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if url.path == "/token":
                    self.answer(*provider.token(form, self.headers.get("Authorization")))
                elif url.path == "/authorize":
                    self.answer(*provider.authorize(form))
                else:
                    self.answer(404, {"Content-Type": "text/plain"}, b"not found")

        return Handler


ROLE_MAP = {"rollcall-viewers": "Viewer", "rollcall-ops": "Operator", "rollcall-rm": "Release manager"}


@pytest.fixture
def oidc_provider(settings):
    """A running provider, and Rollcall's settings pointing at it as the environment would set them."""
    with OidcProvider() as provider:
        settings.ROLLCALL_OIDC_ISSUER = provider.issuer
        settings.ROLLCALL_OIDC_PROVIDER_NAME = "Test IdP"
        settings.OIDC_RP_CLIENT_ID = provider.client_id
        settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
        settings.ROLLCALL_OIDC_ROLE_MAP = dict(ROLE_MAP)
        settings.AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend", "accounts.oidc.RollcallOIDCBackend"]
        oidc.forget_discovery()
        yield provider
        oidc.forget_discovery()
