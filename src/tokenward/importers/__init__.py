"""Importers of declared and provider inventories; the registry of them is `importers.registry`.

The package itself imports nothing: every recorded scan reads `importers.interface` (DeclaredToken),
and importing each importer with it (httpx for OpenBao, the manifest's schema) cost 0.15 s a scan.
"""
