"""Discord's OAuth2 for "Log in with Discord": the browser's authorize page, the token exchange, and the
user's own API (/users/@me, /users/@me/guilds) with a bearer token.

The authorize page has no consent screen: whoever the test set with `oauth_login_as(user)` approves at
once, and the browser is redirected back with a code (or with error=access_denied when nobody is set).
The token endpoint checks what Discord checks: the client's id and secret, the code (once), the
redirect_uri it was issued for, and the PKCE verifier against the challenge (S256).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .http import ApiError, Call
from .state import User, compute_permissions

TOKEN_LIFETIME = 604800  # Discord's access tokens last 7 days


@dataclass
class OAuthGrant:
    user_id: int
    client_id: str
    scopes: tuple[str, ...]
    redirect_uri: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""


@dataclass
class AuthorizeRequest:
    """One browser visit to /oauth2/authorize, as the fake saw its query."""

    query: dict[str, str]
    approved_by: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OAuthRoutes:
    """Mixed into FakeDiscord."""

    _lock: threading.RLock
    users: dict[int, User]

    def _init_oauth(self) -> None:
        self.oauth_clients: dict[str, str] = {}
        self.oauth_browser_user: User | None = None
        self.oauth_authorizations: list[AuthorizeRequest] = []
        self._oauth_codes: dict[str, OAuthGrant] = {}
        self.oauth_tokens: dict[str, OAuthGrant] = {}
        r = self._route  # type: ignore[attr-defined]
        r("POST", "/oauth2/token", self._post_oauth_token, auth=False)
        r("POST", "/oauth2/token/revoke", self._post_oauth_revoke, auth=False)
        r("GET", "/users/@me/guilds", self._get_my_guilds, auth=False)

    # ------------------------------------------------------------------------------ test API
    def oauth_client(self, client_id: str | None = None, secret: str = "fake-client-secret") -> tuple[str, str]:
        """Register an OAuth2 client (default id: the application's, as on Discord); returns (id, secret)."""
        client_id = client_id or str(self.application.id)  # type: ignore[attr-defined]
        with self._lock:
            self.oauth_clients[client_id] = secret
        return client_id, secret

    def oauth_login_as(self, user: User | None) -> None:
        """The user logged in to Discord in "the browser": they approve the next authorize requests."""
        with self._lock:
            self.oauth_browser_user = user

    def oauth_revoke_tokens(self, user: User | None = None) -> None:
        with self._lock:
            for token, grant in list(self.oauth_tokens.items()):
                if user is None or grant.user_id == user.id:
                    del self.oauth_tokens[token]

    # ---------------------------------------------------------------------------- browser side
    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        visit = AuthorizeRequest(query=query)
        with self._lock:
            self.oauth_authorizations.append(visit)
            secret = self.oauth_clients.get(query.get("client_id", ""))
            user = self.oauth_browser_user
        redirect_uri = query.get("redirect_uri", "")
        if secret is None or query.get("response_type") != "code" or not redirect_uri:
            return web.Response(status=400, text="Invalid OAuth2 request (unknown client_id, or no redirect_uri)")
        back: dict[str, str] = {}
        if user is None:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            grant = OAuthGrant(
                user_id=user.id,
                client_id=query["client_id"],
                scopes=tuple(query.get("scope", "").split()),
                redirect_uri=redirect_uri,
                code_challenge=query.get("code_challenge", ""),
                code_challenge_method=query.get("code_challenge_method", ""),
            )
            with self._lock:
                self._oauth_codes[code] = grant
            visit.approved_by = user.id
            back["code"] = code
        if "state" in query:
            back["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(redirect_uri + separator + urlencode(back))

    # ------------------------------------------------------------------------------- API side
    def _oauth_client_of(self, call: Call) -> str | None:
        """The client id when the request carries a known client's id and secret (body or Basic auth)."""
        form = call.json if isinstance(call.json, dict) else {}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = call.request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        with self._lock:
            known = self.oauth_clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            return None
        return client_id

    async def _post_oauth_revoke(self, call: Call) -> tuple[int, Any]:
        client_id = self._oauth_client_of(call)
        if client_id is None:
            return 401, {"error": "invalid_client"}
        token = (call.json or {}).get("token", "")
        with self._lock:
            grant = self.oauth_tokens.get(token)
            if grant is not None and grant.client_id == client_id:
                del self.oauth_tokens[token]
        return 200, {}

    async def _post_oauth_token(self, call: Call) -> tuple[int, Any]:
        form = call.json if isinstance(call.json, dict) else {}
        client_id = self._oauth_client_of(call)
        if client_id is None:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._oauth_codes.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != client_id:
            return 400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": 'Invalid "redirect_uri" in request.'}
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            expected = digest if grant.code_challenge_method == "S256" else verifier
            if not verifier or expected != grant.code_challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        token = secrets.token_urlsafe(30)
        with self._lock:
            self.oauth_tokens[token] = grant
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "refresh_token": secrets.token_urlsafe(30),
            "scope": " ".join(grant.scopes),
        }

    def _bearer_grant(self, call: Call, scope: str) -> OAuthGrant:
        auth = call.request.headers.get("Authorization", "")
        with self._lock:
            grant = self.oauth_tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None:
            raise ApiError(401, 0, "401: Unauthorized")
        if scope not in grant.scopes:
            raise ApiError(403, 50001, "Missing Access")
        return grant

    def _oauth_user_json(self, call: Call) -> dict[str, Any]:
        grant = self._bearer_grant(call, "identify")
        return self.users[grant.user_id].to_json()

    async def _get_my_guilds(self, call: Call) -> tuple[int, Any]:
        grant = self._bearer_grant(call, "guilds")
        out = []
        with self._lock:
            for guild in self.guilds.values():  # type: ignore[attr-defined]
                if grant.user_id not in guild.members:
                    continue
                out.append(
                    {
                        "id": str(guild.id),
                        "name": guild.name,
                        "icon": None,
                        "banner": None,
                        "owner": guild.owner_id == grant.user_id,
                        "permissions": str(compute_permissions(guild, None, grant.user_id)),
                        "features": [],
                    }
                )
        return 200, out
