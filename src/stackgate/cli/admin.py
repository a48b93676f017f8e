"""`stackgate admin ...`: the operator's commands, run where StackGate's database is reachable
(they work on STACKGATE_DATABASE_URL directly, as `stackgate migrate` does, not through the
API): the way back in when a password is lost."""

from __future__ import annotations

import asyncio
import secrets
import sys

import typer

# As the API's NewPassword (identity/users/schemas.py), said in characters.
MIN_LENGTH = 8

admin_app = typer.Typer(
    help="Operator commands on the configured database (STACKGATE_DATABASE_URL), no login "
    "needed: reset-password.",
    no_args_is_help=True,
)


def _read_password() -> str:
    """The first line of stdin, as `stackgate login --password-stdin` reads it."""
    from pydantic import TypeAdapter, ValidationError

    from stackgate.identity.users.schemas import NewPassword

    password = sys.stdin.readline().rstrip("\r\n")
    reason = None
    if len(password) < MIN_LENGTH:
        reason = f"it has {len(password)} characters, at least {MIN_LENGTH} are needed"
    else:
        try:
            return str(TypeAdapter(NewPassword).validate_python(password))
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
    typer.echo(f"stackgate admin reset-password: the password on stdin: {reason}", err=True)
    raise typer.Exit(2)


@admin_app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="The user (of the Default domain), e.g. admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from stdin's first line."
    ),
) -> None:
    """Give USERNAME a new password and void the tokens they hold (as a password change
    through the API does). Without --password-stdin a password is generated and printed once
    on stdout. Running StackGate processes refuse the old tokens within
    STACKGATE_AUTH_CACHE_SECONDS."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from stackgate.bootstrap import bootstrap
    from stackgate.config import get_settings
    from stackgate.core.errors import NotFound

    password = _read_password() if password_stdin else secrets.token_urlsafe(12)
    settings = get_settings()

    async def reset() -> None:
        container = bootstrap(settings)
        try:
            await container.users.reset_password(username, password)
        finally:
            await container.engine.dispose()

    where = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        asyncio.run(reset())
    except NotFound:
        typer.echo(
            f"stackgate admin reset-password: no user named {username!r} in the database at "
            f"{where} (STACKGATE_DATABASE_URL)",
            err=True,
        )
        raise typer.Exit(1) from None
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        typer.echo(
            f"stackgate admin reset-password: cannot use the database at {where} "
            f"(STACKGATE_DATABASE_URL; has `stackgate migrate` run?): {reason}",
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(f"password of {username} reset; the tokens they held are void", err=True)
    if not password_stdin:
        typer.echo(password)
