"""The exception tree of costtracker.

Domain code raises these; the web layer and the CLI turn them into a JSON error,
an HTML page or a message with a non-zero exit. Nothing below ever carries a secret
in its message: sources name the provider and workspace, never the key.

    CostTrackerError
    ├── ConfigError            a setting is missing or malformed (names the setting)
    ├── InvalidInput           bad input from a user or a client (names the parameter)
    ├── NotFound               the thing asked for does not exist
    ├── Conflict               the request clashes with the current state (e.g. a run under way)
    ├── AuthError              not authenticated / not allowed
    └── SourceError            an external API failed; ``permanent`` says whether retrying can help
        ├── AuthenticationFailed   the key was refused (permanent)
        ├── RateLimited            429 after every retry (temporary)
        ├── UpstreamUnavailable    5xx / network failure after every retry (temporary)
        └── BadResponse            the answer could not be understood (permanent)
"""

from __future__ import annotations


class CostTrackerError(Exception):
    """Base of every error costtracker raises on purpose."""

    code = "error"
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CostTrackerError):
    code = "config_error"
    status_code = 500

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.problems = [self.message]

    @classmethod
    def many(cls, problems: list[str]) -> ConfigError:
        """One error for several ``"SETTING: what is wrong"`` lines (the first names the setting)."""
        setting, _, message = problems[0].partition(": ")
        error = cls(setting, message)
        error.problems = list(problems)
        error.message = "; ".join(problems)
        error.args = (error.message,)
        return error


class InvalidInput(CostTrackerError):
    code = "invalid_input"
    status_code = 400

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


class NotFound(CostTrackerError):
    code = "not_found"
    status_code = 404


class Conflict(CostTrackerError):
    code = "conflict"
    status_code = 409


class AuthError(CostTrackerError):
    code = "unauthorized"
    status_code = 401


class Forbidden(AuthError):
    code = "forbidden"
    status_code = 403


class SourceError(CostTrackerError):
    """An external API failed. ``permanent`` errors are not retried by the engine."""

    code = "source_error"
    status_code = 502
    permanent = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        account: str | None = None,
        status: int | None = None,
        permanent: bool | None = None,
    ) -> None:
        where = f"{provider} ({account})" if account else provider
        super().__init__(f"{where}: {message}")
        self.provider = provider
        self.account = account
        self.status = status
        if permanent is not None:
            self.permanent = permanent


class AuthenticationFailed(SourceError):
    code = "source_auth_failed"
    permanent = True


class RateLimited(SourceError):
    code = "source_rate_limited"


class UpstreamUnavailable(SourceError):
    code = "source_unavailable"


class BadResponse(SourceError):
    code = "source_bad_response"
    permanent = True
