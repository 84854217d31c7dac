"""`tokenward serve`: the dashboard and JSON API over the inventory (FastAPI, Jinja2, no JavaScript framework)."""

from tokenward.web.app import create_app
from tokenward.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
