"""The FastAPI application: routers, error handling, and (web/edge.py) security headers, Server-Timing and request
logging without query strings."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from tokenward.errors import StoreError
from tokenward.store.dashboard import DashboardQueries
from tokenward.store.inventory import Inventory
from tokenward.web import api, pages
from tokenward.web.actions import ActionError, Actions
from tokenward.web.edge import Edge, route_of
from tokenward.web.insight import Reviewer
from tokenward.web.render import templates
from tokenward.web.security import HEADERS, Forbidden, KeyCache, LoginLimiter, NotAuthenticated, SessionCache
from tokenward.web.settings import WebSettings
from tokenward.web.state import AppState

log = logging.getLogger("tokenward.web")
STATIC = "tokenward.web"
OPEN_PATHS = ("/login", "/api/health", "/static/")


def create_app(inventory_url: str | None, settings: WebSettings | None = None) -> FastAPI:
    """The dashboard and API over the inventory at inventory_url (migrated on open; never created)."""
    settings = settings or WebSettings()
    inventory = Inventory.open(inventory_url, create=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        inventory.close()

    app = _App(title="tokenward", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
               openapi_url=None)
    app.state.tw = AppState(inventory, DashboardQueries(inventory, settings.overdue_days), settings,
                            KeyCache(settings.key_cache_seconds),
                            LoginLimiter(settings.login_attempts, settings.login_window_seconds), templates(),
                            sessions=SessionCache(settings.session_cache_seconds))
    app.state.actions = Actions(inventory)
    app.state.reviewer = Reviewer(inventory)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[(STATIC, "static")]), name="static")
    _handlers(app)
    return app


class _App(FastAPI):
    """FastAPI with web/edge.py's layer outside its whole middleware stack (its error pages included)."""

    def build_middleware_stack(self) -> ASGIApp:
        return Edge(super().build_middleware_stack(), HEADERS, _written)


def _written(scope: Scope) -> None:
    """A write may have landed: this process's next read sees it at once (not a quarter second later)."""
    scope["app"].state.tw.queries.changed()


FACTORY = "tokenward.web.app:app_from_env"
_ENV_DB, _ENV_SECURE = "TOKENWARD_SERVE_DB", "TOKENWARD_SERVE_SECURE_COOKIES"


def settings_to_env(db: str | None, settings: WebSettings) -> dict[str, str]:
    """What app_from_env needs, as environment variables (for `serve --workers`: one app per process)."""
    return {_ENV_DB: db or "", _ENV_SECURE: "1" if settings.secure_cookies else "0"}


def log_setup() -> None:
    """Request log lines (web/edge.py) to stderr: in `serve` and in each process of `serve --workers`, whose
    spawned interpreters start with no logging configured (uvicorn sets up only its own loggers)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def app_from_env() -> FastAPI:
    """The app of one `serve --workers` process, from settings_to_env's variables."""
    log_setup()
    db = os.environ.get(_ENV_DB) or None
    return create_app(db, WebSettings(secure_cookies=os.environ.get(_ENV_SECURE) == "1"))


def _version() -> str:
    from tokenward import __version__

    return __version__


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/openapi.json"))


def _handlers(app: FastAPI) -> None:
    """Errors as JSON for the API and as pages (or a login redirect) for the browser; never a traceback."""

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, _: Exception) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "authentication required"}, 401, {"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Exception) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: Exception) -> Response:
        missing = str(exc).startswith("no token")
        log.warning("store error on %s: %s", route_of(request.scope), exc)
        return _error(request, 404 if missing else 503, "no such token" if missing else "the inventory is unavailable")

    @app.exception_handler(ActionError)
    async def _action(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ActionError)
        log.warning("action refused on %s: %d", route_of(request.scope), exc.status)
        return _error(request, exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> Response:
        # the offending input is not echoed back: it could be a secret someone pasted into a search box
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, 422) if _wants_json(request) else _error(request, 400, "bad request")


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status)
    st: AppState = request.app.state.tw
    return st.render("error.html", None, status=status, status_code=status, message=message)


def now() -> datetime:
    """The current time in UTC (one place, so tests could pin it)."""
    return datetime.now(UTC)
