"""`tokenward serve` (the dashboard and JSON API) and `tokenward users add|list|disable`."""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tokenward.cli.common import err, user_errors
from tokenward.errors import ConfigError

users_app = typer.Typer(help="Dashboard users and their API keys (stored hashed; shown once).", no_args_is_help=True)
ROLES = ("read", "triage", "admin")
Db = Annotated[str | None, typer.Option("--db", envvar="TOKENWARD_DB",
                                        help="Inventory URL (sqlite:///…, postgresql://…) or SQLite file.")]


def _new_key(db: str | None, name: str, role: str) -> str:
    """Create a user and return its key (the only time it exists outside the caller)."""
    from tokenward.store import Inventory
    from tokenward.store.users import add_user

    if role not in ROLES:
        raise ConfigError(f"unknown --role {role!r} (choose from {', '.join(ROLES)})")
    with Inventory.open(db, create=False) as inventory:
        return add_user(inventory, name, role, datetime.now(UTC))


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="The user's name (shown in the audit trail as web:NAME).")],
              role: Annotated[str, typer.Option("--role", help="read|triage|admin")] = "read",
              db: Db = None) -> None:
    """Create a dashboard user and print its API key once (only an argon2id hash is stored)."""
    with user_errors():
        key = _new_key(db, name, role)
        print(key)
        err.print(f"user {name} ({role}) created; the key above is shown only now: keep it in a password manager")


@users_app.command("list")
def users_list(db: Db = None) -> None:
    """Dashboard users: name, role, created, disabled (never a key)."""
    from tokenward.store import Inventory
    from tokenward.store.users import list_users

    with user_errors(), Inventory.open(db, create=False) as inventory:
        for user, created, disabled in list_users(inventory):
            print(f"{user.name}\t{user.role}\t{created:%Y-%m-%d %H:%M}\t{'disabled' if disabled else 'active'}")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The user to disable.")], db: Db = None) -> None:
    """Disable a user: its key and sessions stop working (the audit trail keeps its name)."""
    from tokenward.store import Inventory
    from tokenward.store.users import disable_user

    with user_errors(), Inventory.open(db, create=False) as inventory:
        if not disable_user(inventory, name):
            raise ConfigError(f"no user named {name!r}")
        err.print(f"user {name} disabled")


def loopback(host: str) -> bool:
    """True when host only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def serve(db: Db = None,
          host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
          create_admin: Annotated[bool, typer.Option("--create-admin", help="Create a user 'admin' and print its "
                                                     "key once before serving.")] = False,
          tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM).")] = None,
          tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM).")] = None,
          proxy: Annotated[str | None, typer.Option("--trust-proxy", help="Addresses of a TLS-terminating proxy "
                                                    "whose X-Forwarded-* headers to trust (e.g. 127.0.0.1).")]
          = None,
          workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes (one per core "
                                               "serves the most clients; sessions live in the inventory).")] = 1
          ) -> None:
    """Serve the dashboard and JSON API over the inventory (API reference at /docs)."""
    with user_errors():
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together")
        if create_admin:
            print(_new_key(db, "admin", "admin"))
            err.print("admin created; the key above is shown only now")
        _warn_exposed(host, tls_cert is not None or proxy is not None)
        _run(db, host, port, tls_cert, tls_key, proxy, workers)


def _warn_exposed(host: str, protected: bool) -> None:
    if not loopback(host) and not protected:
        err.print(f"warning: serving on {host} without TLS: keys and session cookies cross the network in clear "
                  "text (use --tls-cert/--tls-key, or a TLS proxy with --trust-proxy)")


def _run(db: str | None, host: str, port: int, cert: Path | None, key: Path | None, proxy: str | None,
         workers: int = 1) -> None:
    import uvicorn

    from tokenward.web import WebSettings, create_app
    from tokenward.web.app import FACTORY, log_setup, settings_to_env

    settings = WebSettings(secure_cookies=cert is not None or proxy is not None)
    app = create_app(db, settings)  # opened here even with workers: a bad --db fails now, in one line
    if workers > 1:
        # Each worker process builds its own app from the environment (uvicorn imports the factory).
        app.state.tw.inventory.close()
        os.environ.update(settings_to_env(db, settings))
    log_setup()
    scheme = "https" if cert else "http"
    err.print(f"tokenward dashboard on {scheme}://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app if workers == 1 else FACTORY, factory=workers > 1, workers=workers, host=host, port=port,
                access_log=False,  # our own log line: route only, no query string
                ssl_certfile=str(cert) if cert else None, ssl_keyfile=str(key) if key else None,
                proxy_headers=proxy is not None, forwarded_allow_ips=proxy, log_level="warning")
