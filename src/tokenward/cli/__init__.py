"""Thin Typer commands; the only place that decides exit codes."""
