"""Dual-phase credential rotation through secrets managers (OpenBao/Vault KV v2 and database, AWS IAM)."""
