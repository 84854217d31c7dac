"""tokenward: end-to-end API token security review."""

__version__ = "0.1.0"
