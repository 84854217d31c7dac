"""Rules as data: YAML rule files, their validation and compilation."""
