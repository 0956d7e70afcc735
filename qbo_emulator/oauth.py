"""Intuit's OAuth 2.0 endpoints (qbo-api.md §9, qbo-samples/oauth-openid-sandbox-configuration.json).

Paths mirror Intuit's so a client only swaps the host:
  /.well-known/openid_sandbox_configuration   discovery document
  /connect/oauth2                             authorize page (choose a sandbox company, consent)
  /oauth2/v1/tokens/bearer                    token endpoint (authorization_code, refresh_token)
  /v2/oauth2/tokens/revoke                    revoke
"""

from __future__ import annotations

import base64
import html
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .faults import oauth_error
from .runtime import Emulator
from .seed import create_company

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def discovery(request: Request) -> Response:
    base = _emu(request).config.public_base_url
    return JSONResponse({
        "issuer": f"{base}/op/v1",
        "authorization_endpoint": f"{base}/connect/oauth2",
        "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{base}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    })


def redirect_allowed(emulator: Emulator, uri: str) -> bool:
    """Intuit only redirects to URIs registered in the developer portal. The emulator accepts any
    http(s)://localhost or 127.0.0.1 URI unless --redirect-uri pins one (a deliberate simplification)."""
    if emulator.config.redirect_uri:
        return uri == emulator.config.redirect_uri
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font:15px system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#222}"
        "fieldset{border:1px solid #ccc;border-radius:6px;padding:1rem}button{padding:.5rem 1.2rem;"
        "background:#2ca01c;color:#fff;border:0;border-radius:4px;font-size:15px}label{display:block;"
        "margin:.3rem 0}.note{color:#666;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>", status_code=status)


async def authorize(request: Request) -> Response:
    emulator = _emu(request)
    params = request.query_params if request.method == "GET" else await request.form()
    client_id = str(params.get("client_id", ""))
    redirect_uri = str(params.get("redirect_uri", ""))
    state = str(params.get("state", ""))
    scope = str(params.get("scope", ""))
    if client_id != emulator.config.client_id:
        return _page("Invalid client", "<p>The client_id is not known to this emulator.</p>", 400)
    if not redirect_allowed(emulator, redirect_uri):
        return _page("Invalid redirect_uri", f"<p>{html.escape(redirect_uri)} is not allowed.</p>", 400)
    if params.get("response_type", "code") != "code":
        return RedirectResponse(redirect_uri + "?" + urlencode({"error": "unsupported_response_type",
                                                                "state": state}), 302)
    if request.method == "POST":
        if params.get("decision") != "connect":
            return RedirectResponse(redirect_uri + "?" + urlencode({"error": "access_denied", "state": state}), 302)
        realm = str(params.get("realm", ""))
        if realm == "new" or emulator.store.get(realm) is None:
            realm = create_company(emulator, name=str(params.get("company_name") or "Sandbox Company")).realm_id
        code = emulator.tokens.issue_code(realm, redirect_uri, client_id)
        return RedirectResponse(redirect_uri + "?" + urlencode({"code": code, "state": state, "realmId": realm}), 302)
    options = "".join(
        f"<label><input type='radio' name='realm' value='{html.escape(c.realm_id)}'{' checked' if i == 0 else ''}>"
        f" {html.escape(c.name)} <span class='note'>({html.escape(c.realm_id)})</span></label>"
        for i, c in enumerate(emulator.store.companies.values()))
    hidden = "".join(f"<input type='hidden' name='{k}' value='{html.escape(str(v))}'>"
                     for k, v in (("client_id", client_id), ("redirect_uri", redirect_uri), ("state", state),
                                  ("scope", scope), ("response_type", "code")))
    checked_new = "" if options else " checked"
    body = (
        "<p>An app wants to connect to a QuickBooks sandbox company.</p>"
        f"<p class='note'>Scopes requested: {html.escape(scope or ACCOUNTING_SCOPE)}</p>"
        f"<form method='post'>{hidden}<fieldset><legend>Choose a company</legend>{options}"
        f"<label><input type='radio' name='realm' value='new'{checked_new}> Create a new sandbox company: "
        "<input name='company_name' value='Sandbox Company'></label></fieldset><p>"
        "<button name='decision' value='connect'>Connect</button> "
        "<button name='decision' value='deny' style='background:#888'>Cancel</button></p></form>"
        "<p class='note'>QuickBooks Online emulator: no real Intuit account is involved.</p>")
    return _page("Connect to QuickBooks", body)


def _client_auth(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")  # client_secret_post


async def token(request: Request) -> Response:
    emulator = _emu(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret = _client_auth(request, form)
    if client_id != emulator.config.client_id or secret != emulator.config.client_secret:
        return JSONResponse(oauth_error("invalid_client"), status_code=401)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        result = emulator.tokens.exchange_code(form.get("code", ""), form.get("redirect_uri"))
    elif grant_type == "refresh_token":
        result = emulator.tokens.refresh(form.get("refresh_token", ""))
    else:
        return JSONResponse(oauth_error("unsupported_grant_type"), status_code=400)
    if result is None:
        # Intuit: refreshing with an invalid or old token -> HTTP 400 {"error":"invalid_grant"}.
        return JSONResponse(oauth_error("invalid_grant"), status_code=400)
    result.pop("realmId", None)  # Intuit's token response has no realmId (it came on the redirect)
    return JSONResponse(result, headers={"cache-control": "no-store"})


async def revoke(request: Request) -> Response:
    emulator = _emu(request)
    content_type = request.headers.get("content-type", "")
    body: dict[str, str]
    if "json" in content_type:
        body = await request.json()
    else:
        body = {k: str(v) for k, v in (await request.form()).items()}
    client_id, secret = _client_auth(request, body)
    if client_id != emulator.config.client_id or secret != emulator.config.client_secret:
        return JSONResponse(oauth_error("invalid_client"), status_code=401)
    emulator.tokens.revoke(str(body.get("token", "")))
    return Response(status_code=200)  # RFC 7009: 200 even for an unknown token


routes = [
    Route("/.well-known/openid_sandbox_configuration", discovery),
    Route("/.well-known/openid_sandbox_configuration/", discovery),
    Route("/.well-known/openid_configuration", discovery),
    Route("/.well-known/openid_configuration/", discovery),
    Route("/connect/oauth2", authorize, methods=["GET", "POST"]),
    Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
    Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"]),
]
