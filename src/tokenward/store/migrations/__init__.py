"""Alembic migrations for the inventory schema (run through tokenward.store.inventory.upgrade)."""
