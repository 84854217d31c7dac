"""One rooted exception tree: every error tokenward raises on purpose derives from TokenwardError."""


class TokenwardError(Exception):
    """Base of every deliberate tokenward error; its message is safe to show a user."""


class ConfigError(TokenwardError):
    """A configuration file, option or environment variable is invalid."""


class RuleError(TokenwardError):
    """A rule file is malformed, or the rule set does not compile."""


class CheckError(RuleError):
    """A rule names a check that does not exist or gives it a bad argument."""


class SourceError(TokenwardError):
    """An input source could not be opened at all (individual items are skipped, not raised)."""


class IdentityError(TokenwardError):
    """The fingerprint key is missing, unreadable or malformed."""


class ReportError(TokenwardError):
    """An output could not be written."""


class StoreError(TokenwardError):
    """The inventory database cannot be opened, migrated or written (or belongs to another key)."""


class UsageError(TokenwardError):
    """A usage log, alert sink or monitoring option cannot be used (single bad lines are counted, not raised)."""


class ImporterError(TokenwardError):
    """An inventory import (manifest, provider listing, secrets manager) cannot be read or is invalid."""


class PolicyError(TokenwardError):
    """A policy file is malformed or names an unknown check."""
