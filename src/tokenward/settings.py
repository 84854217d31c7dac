"""Config file + environment + command-line options → one frozen Settings, passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tokenward.errors import ConfigError
from tokenward.sources.filesystem import DEFAULT_MAX_SIZE

CONFIG_NAMES = (".tokenward.yaml", ".tokenward.yml")


@cache
def _config_model() -> Any:
    # pydantic loads only when there is a config file to validate: most scans have none, and the
    # import is a tenth of a second of every start-up.
    from pydantic import BaseModel, ConfigDict, Field

    class ConfigModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        exclude: list[str] = Field(default_factory=list)
        allow_paths: list[str] = Field(default_factory=list)
        max_file_size: int = Field(default=DEFAULT_MAX_SIZE, gt=0)
        follow_symlinks: bool = False
        respect_gitignore: bool = False
        rules: list[str] = Field(default_factory=list)

    return ConfigModel


@dataclass(frozen=True)
class Settings:
    """Everything a scan needs to know about the user's configuration."""

    exclude: tuple[str, ...] = ()
    allow_paths: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_SIZE
    follow_symlinks: bool = False
    respect_gitignore: bool = False
    rule_paths: tuple[Path, ...] = ()
    config_file: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


def find_config(explicit: Path | None, scan_roots: list[Path]) -> Path | None:
    """--config if given, else the first .tokenward.yaml in a scanned directory.

    The current directory's config is deliberately not used for other roots: scanning /tmp/x from a
    project checkout must not apply that project's excludes and allow-lists to /tmp/x.
    """
    if explicit is not None:
        if explicit.is_dir():
            raise ConfigError(f"--config {explicit} is a directory: give the config file itself "
                              f"(e.g. {explicit / CONFIG_NAMES[0]})")
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    for base in scan_roots:
        for name in CONFIG_NAMES:
            try:
                if (base / name).is_file():
                    return base / name
            except OSError:
                continue  # an unreadable or non-directory root simply has no config file
    return None


def load_settings(config: Path | None) -> Settings:
    """Parse a config file (or defaults when None) into Settings; ConfigError on any problem."""
    if config is None:
        return Settings()
    import yaml
    from pydantic import ValidationError

    from tokenward import yamlsafe

    try:
        raw = yamlsafe.load(yamlsafe.read_text(config, ConfigError), str(config), ConfigError) or {}
        model = _config_model().model_validate(raw)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {config}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:
            raise ConfigError(f"{config}: expected a mapping of settings (exclude, allow_paths, …)") from None
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{config}: {where}: {first['msg']}") from None
    return Settings(
        exclude=tuple(model.exclude), allow_paths=tuple(model.allow_paths),
        max_file_size=model.max_file_size, follow_symlinks=model.follow_symlinks,
        respect_gitignore=model.respect_gitignore,
        rule_paths=tuple((config.parent / r) for r in model.rules), config_file=config,
    )
