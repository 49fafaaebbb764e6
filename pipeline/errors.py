"""Exceptions a user can cause. The CLI turns each into one line and an exit code."""


class MassfieldError(Exception):
    """A problem the user can fix; the message names the file or key and the fix."""

    exit_code = 1


class ConfigError(MassfieldError):
    """Invalid parameters: a bad value, an unknown key or an unreadable params file."""

    exit_code = 2


class DataError(MassfieldError):
    """Missing, corrupt or mismatched data on disk (shards, manifest, models)."""

    exit_code = 1
