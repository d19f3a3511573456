"""The HTTP API calls a game client needs: sign-up, log-in, server info.

Uses only the standard library (``urllib.request``); calls are blocking, so
async code runs them with ``asyncio.to_thread``. Error answers of the API
are JSON ``{code, message}`` and become :class:`ApiError`. An ``https://``
base is verified against the system's certificate authorities, or against
the PEM file ``ca_file`` names (a private CA, as in tests). Account
management beyond that (log-out, ``/v1/me``) is left out: the game client
does not need it.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

#: Seconds before an HTTP request is given up.
DEFAULT_TIMEOUT = 10.0


class ApiError(Exception):
    """The API answered with an error status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Session:
    """Answer of ``POST /v1/sessions``."""

    token: str
    expires_at: int
    account_id: int
    name: str


@dataclass(frozen=True)
class GameInfo:
    """Where the QUIC game listener is and how to verify it."""

    host: str
    port: int
    cert_sha256: str


@dataclass(frozen=True)
class ServerInfo:
    """Answer of ``GET /v1/server-info``; ``game`` is None without a game listener."""

    protocol_version: int
    game: GameInfo | None


def _request(
    base: str, method: str, path: str, body: dict | None, timeout: float, ca_file: str | None = None
) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    # Hostname checking and verification are on in a default context.
    context = ssl.create_default_context(cafile=ca_file) if base.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            payload = json.loads(raw)
            code, message = str(payload["code"]), str(payload["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "unknown", raw[:200].decode("utf-8", "replace")
        raise ApiError(err.code, code, message) from None
    return json.loads(raw) if raw else None


def sign_up(
    base: str, name: str, password: str, timeout: float = DEFAULT_TIMEOUT, ca_file: str | None = None
) -> int:
    """Creates an account; returns its id. ``ApiError`` ``name_taken`` if it
    exists, ``weak_password`` (with a message saying why) if the password is
    guessable."""
    answer = _request(base, "POST", "/v1/accounts", {"name": name, "password": password}, timeout, ca_file)
    return int(answer["account_id"])


def log_in(
    base: str, name: str, password: str, timeout: float = DEFAULT_TIMEOUT, ca_file: str | None = None
) -> Session:
    """Opens a session; its token is what ``Hello`` carries."""
    a = _request(base, "POST", "/v1/sessions", {"name": name, "password": password}, timeout, ca_file)
    return Session(str(a["token"]), int(a["expires_at"]), int(a["account_id"]), str(a["name"]))


def sign_up_or_log_in(
    base: str, name: str, password: str, timeout: float = DEFAULT_TIMEOUT, ca_file: str | None = None
) -> Session:
    """Signs up when the name is free, then logs in either way."""
    try:
        sign_up(base, name, password, timeout, ca_file)
    except ApiError as err:
        if err.code != "name_taken":
            raise
    return log_in(base, name, password, timeout, ca_file)


def split_host_port(addr: str) -> tuple[str, int]:
    """Splits ``host:port`` or ``[v6]:port``."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not a host:port address: {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def server_info(base: str, timeout: float = DEFAULT_TIMEOUT, ca_file: str | None = None) -> ServerInfo:
    """Reads ``GET /v1/server-info``.

    An unspecified game host (``0.0.0.0`` or ``::``) is replaced by the host
    of ``base``, as docs/PROTOCOL.md says.
    """
    a = _request(base, "GET", "/v1/server-info", None, timeout, ca_file)
    game = a.get("game")
    info = None
    if game is not None:
        host, port = split_host_port(str(game["addr"]))
        if host in ("0.0.0.0", "::"):
            host = urllib.parse.urlsplit(base).hostname or "127.0.0.1"
        fingerprint = str(game["cert_sha256"]).lower()
        info = GameInfo(host, port, fingerprint)
    return ServerInfo(int(a["protocol_version"]), info)
