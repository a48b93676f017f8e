"""The one exception client commands raise: a message for stderr and an exit code."""

from __future__ import annotations

# Exit codes: 0 done; 1 an API error or an operation that ended in ERROR; 2 bad usage (as
# Click); 124 a wait that ran out of time, as timeout(1) does.
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 124


class CliError(Exception):
    """Printed as one clear message on stderr; the command exits with `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
