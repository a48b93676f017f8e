"""Logging in and profiles (`login`, `logout`, `whoami`, `profile ...`), and the identity
objects: `project`, `user`, `role add|remove`, `quota show|set`, `application credential`."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated, Any

import typer

from stackgate.cli.client import resolve
from stackgate.cli.client.command import (
    connect,
    delete_each,
    global_options,
    list_matching,
    show,
    show_named,
    target,
    verb,
)
from stackgate.cli.client.config import ConfigFile, Profile, forget_token, profile_name
from stackgate.cli.client.errors import EXIT_USAGE, CliError
from stackgate.cli.client.http import Api, session
from stackgate.cli.client.output import Output, columns, print_list
from stackgate.cli.client.resolve import CREDENTIAL, PROJECT, USER

profile_app = typer.Typer(help="Saved logins (profiles in config.toml).", no_args_is_help=True)
project_app = typer.Typer(help="Projects.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
role_app = typer.Typer(help="Roles of users on projects.", no_args_is_help=True)
quota_app = typer.Typer(help="Project quotas.", no_args_is_help=True)
credential_app = typer.Typer(help="Application credentials.", no_args_is_help=True)
application_app = typer.Typer(help="Application credentials.", no_args_is_help=True)
application_app.add_typer(credential_app, name="credential")


def register(root: typer.Typer) -> None:
    verb(root, "login", output=True)(login)
    verb(root, "logout")(logout)
    verb(root, "whoami", output=True)(whoami)
    root.add_typer(profile_app, name="profile")
    root.add_typer(project_app, name="project")
    root.add_typer(user_app, name="user")
    root.add_typer(role_app, name="role")
    root.add_typer(quota_app, name="quota")
    root.add_typer(application_app, name="application")
    root.add_typer(credential_app, name="application-credential")


def _secret(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CliError(f"--password-stdin: no {prompt.lower()} on stdin", EXIT_USAGE)
        return value
    return str(typer.prompt(prompt, hide_input=True))


def login(
    out: Output,
    url: Annotated[
        str | None, typer.Option(help="StackGate's URL, e.g. http://127.0.0.1:8000.")
    ] = None,
    username: Annotated[str | None, typer.Option(help="Your user name.")] = None,
    project: Annotated[str | None, typer.Option(help="The project to work in.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password (or secret) from stdin.")
    ] = False,
    application_credential_id: Annotated[
        str | None, typer.Option(help="Log in with an application credential instead.")
    ] = None,
) -> None:
    """Log in and save the token in a profile (config.toml, mode 0600)."""
    config = ConfigFile.load()
    name = profile_name(global_options(), config)
    stored = config.profiles.get(name, Profile(name))
    where = target()
    url = url or where.url
    if not url:
        raise CliError("give --url (StackGate's address, e.g. http://127.0.0.1:8000)", EXIT_USAGE)
    body: dict[str, Any]
    if application_credential_id:
        secret = _secret("Secret", password_stdin)
        body = {
            "application_credential_id": application_credential_id,
            "application_credential_secret": secret,
        }
    else:
        username = username or stored.username
        if not username:
            username = str(typer.prompt("Username"))
        project = project or where.project
        body = {"username": username, "password": _secret("Password", password_stdin)}
        if project:
            body["project"] = project
    with session(replace(where, url=url, token=None)) as api:
        issued = api.request("POST", "/api/v1/auth/tokens", json=body, authenticated=False).json()
    profile = Profile(
        name=name,
        url=url.rstrip("/"),
        token=str(issued["access_token"]),
        project=str(issued["project"]["name"]),
        username=str(issued["user"]["name"]),
        expires_at=str(issued["expires_at"]),
    )
    config.put(profile)
    config.current = name
    config.save()
    show(
        {
            "profile": name,
            "url": profile.url,
            "user": profile.username,
            "project": profile.project,
            "roles": issued.get("roles", []),
            "expires_at": profile.expires_at,
        },
        out,
    )


def logout() -> None:
    """Forget the profile's token (its URL and user stay)."""
    config = ConfigFile.load()
    name = profile_name(global_options(), config)
    if name in config.profiles:
        config.put(forget_token(config.profiles[name]))
        config.save()
    print(f"logged out of profile {name}", file=sys.stderr)


def _me(api: Api) -> dict[str, Any]:
    me: dict[str, Any] = api.get("/api/v1/auth/me")
    return me


def whoami(out: Output) -> None:
    """Who the token belongs to, and where."""
    with connect() as api:
        me = _me(api)
        show(
            {
                "profile": api.target.profile,
                "url": api.target.url,
                "user": me["user"]["name"],
                "user_id": me["user"]["id"],
                "project": me["project"]["name"],
                "project_id": me["project"]["id"],
                "roles": me.get("roles", []),
                "is_admin": me.get("is_admin"),
                "expires_at": me.get("expires_at"),
            },
            out,
        )


PROFILES = columns("Name", "URL", "Project", "User", "Current", ("Logged In", "logged_in"))


@verb(profile_app, "list", output=True)
def list_profiles(out: Output) -> None:
    """List saved profiles."""
    config = ConfigFile.load()
    current = profile_name(global_options(), config)
    rows = [
        {
            "name": p.name,
            "url": p.url,
            "project": p.project,
            "user": p.username,
            "current": "*" if p.name == current else "",
            "logged_in": p.token is not None,
        }
        for p in config.profiles.values()
    ]
    print_list(rows, PROFILES, out)


@verb(profile_app, "show", output=True)
def show_profile(
    out: Output, name: Annotated[str | None, typer.Argument(help="Default: current.")] = None
) -> None:
    """Show a profile (never its token)."""
    config = ConfigFile.load()
    name = name or profile_name(global_options(), config)
    profile = config.profiles.get(name)
    if profile is None:
        raise CliError(f"no profile {name!r} in {config.path}")
    fields = profile.as_toml()
    fields.pop("token", None)
    show({"name": name, **fields, "logged_in": profile.token is not None}, out)


@verb(profile_app, "use")
def use_profile(name: Annotated[str, typer.Argument()]) -> None:
    """Make a profile the current one."""
    config = ConfigFile.load()
    if name not in config.profiles:
        known = ", ".join(sorted(config.profiles)) or "none"
        raise CliError(f"no profile {name!r} (profiles: {known}); `stackgate login` makes one")
    config.current = name
    config.save()
    print(f"now using profile {name}", file=sys.stderr)


@verb(profile_app, "delete")
def delete_profile(name: Annotated[str, typer.Argument()]) -> None:
    """Delete a profile."""
    config = ConfigFile.load()
    if config.profiles.pop(name, None) is None:
        raise CliError(f"no profile {name!r}")
    if config.current == name:
        config.current = None
    config.save()


PROJECTS = columns("ID", "Name", "Enabled", "Description")
USERS = columns("ID", "Name", "Email", "Enabled")
Name = Annotated[str, typer.Argument(help="Name or id.")]


@verb(project_app, "list", output=True)
def list_projects(out: Output) -> None:
    """List projects."""
    list_matching(PROJECT, PROJECTS, out)


@verb(project_app, "show", output=True)
def show_project(project: Name, out: Output) -> None:
    """Show a project."""
    show_named(PROJECT, project, out)


@verb(project_app, "create", output=True)
def create_project(
    name: Annotated[str, typer.Argument()],
    out: Output,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a project (admin)."""
    with connect() as api:
        show(api.post(PROJECT.path, {"name": name, "description": description}).json(), out)


@verb(project_app, "delete")
def delete_projects(projects: Annotated[list[str], typer.Argument()]) -> None:
    """Delete projects (admin)."""
    delete_each(PROJECT, projects)


@verb(user_app, "list", output=True)
def list_users(out: Output) -> None:
    """List users."""
    list_matching(USER, USERS, out)


@verb(user_app, "show", output=True)
def show_user(user: Name, out: Output) -> None:
    """Show a user."""
    show_named(USER, user, out)


@verb(user_app, "create", output=True)
def create_user(
    name: Annotated[str, typer.Argument()],
    out: Output,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create a user (admin); the password comes from a prompt or stdin."""
    password = _secret("Password", password_stdin)
    with connect() as api:
        body = {"name": name, "password": password, "email": email}
        show(api.post(USER.path, body).json(), out)


@verb(user_app, "delete")
def delete_users(users: Annotated[list[str], typer.Argument()]) -> None:
    """Delete users (admin)."""
    delete_each(USER, users)


Role = Annotated[str, typer.Argument(help="member, reader or admin.")]
ProjectOpt = Annotated[str, typer.Option("--project", help="Project name or id.")]
UserOpt = Annotated[str, typer.Option("--user", help="User name or id.")]


@verb(role_app, "add")
def add_role(role: Role, project: ProjectOpt, user: UserOpt) -> None:
    """Give a user a role on a project."""
    with connect() as api:
        project_id = resolve.find_id(api, PROJECT, project)
        user_id = resolve.find_id(api, USER, user)
        api.post(f"{PROJECT.one(project_id)}/members", {"user_id": user_id, "role": role})


@verb(role_app, "remove")
def remove_role(role: Role, project: ProjectOpt, user: UserOpt) -> None:
    """Take a user's role on a project away (membership is one role per project)."""
    with connect() as api:
        project_id = resolve.find_id(api, PROJECT, project)
        user_id = resolve.find_id(api, USER, user)
        members = api.get(f"{PROJECT.one(project_id)}/members").get("items", [])
        if not any(m.get("user_id") == user_id and m.get("role") == role for m in members):
            raise CliError(f"user {user!r} has no role {role!r} on project {project!r}")
        api.delete(f"{PROJECT.one(project_id)}/members/{user_id}")


def project_id(api: Api, project: str | None) -> str:
    """The named project's id, or the token's project (--project, STACKGATE_PROJECT)."""
    me = _me(api)
    wanted = project or api.target.project
    if not wanted or wanted in (me["project"]["id"], me["project"]["name"]):
        return str(me["project"]["id"])
    return resolve.find_id(api, PROJECT, wanted)


QUOTAS = columns("Resource", "Limit", ("In Use", "in_use"))
RESOURCES = (
    "instances",
    "cores",
    "ram",
    "volumes",
    "snapshots",
    "gigabytes",
    "networks",
    "subnets",
    "ports",
    "floating_ips",
    "security_groups",
    "security_group_rules",
)


def _print_quotas(body: dict[str, Any], out: Output) -> None:
    rows = [{"resource": name, **values} for name, values in body.get("quotas", {}).items()]
    print_list(rows, QUOTAS, out)


@verb(quota_app, "show", output=True)
def show_quota(
    out: Output,
    project: Annotated[str | None, typer.Option(help="Default: your token's project.")] = None,
) -> None:
    """A project's quotas and usage."""
    with connect() as api:
        body = api.get(f"{PROJECT.one(project_id(api, project))}/quotas")
    _print_quotas(body, out)


@verb(quota_app, "set", output=True)
def set_quota(
    out: Output,
    limits: Annotated[
        list[str], typer.Argument(metavar="RESOURCE=LIMIT...", help=f"{', '.join(RESOURCES)}.")
    ],
    project: Annotated[str | None, typer.Option(help="Default: your token's project.")] = None,
) -> None:
    """Set quotas (admin): `quota set instances=20 cores=40 --project demo` (-1: unlimited)."""
    quotas: dict[str, int] = {}
    for pair in limits:
        key, _, value = pair.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if key not in RESOURCES or not value.lstrip("-").isdigit():
            raise CliError(
                f"{pair!r}: expected RESOURCE=LIMIT, RESOURCE one of {', '.join(RESOURCES)}",
                EXIT_USAGE,
            )
        quotas[key] = int(value)
    with connect() as api:
        path = f"{PROJECT.one(project_id(api, project))}/quotas"
        body = api.request("PUT", path, json={"quotas": quotas}).json()
    _print_quotas(body, out)


CREDENTIALS = columns("ID", "Name", ("Project ID", "project_id"), ("Expires At", "expires_at"))


@verb(credential_app, "list", output=True)
def list_credentials(out: Output) -> None:
    """List your application credentials."""
    list_matching(CREDENTIAL, CREDENTIALS, out)


@verb(credential_app, "create", output=True)
def create_credential(
    name: Annotated[str, typer.Argument()],
    out: Output,
    description: Annotated[str | None, typer.Option()] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601 time.")] = None,
) -> None:
    """Create an application credential (its secret is shown only now)."""
    body = {"name": name, "description": description, "expires_at": expires_at}
    with connect() as api:
        show(api.post(CREDENTIAL.path, body).json(), out)


@verb(credential_app, "delete")
def delete_credentials(credentials: Annotated[list[str], typer.Argument()]) -> None:
    """Revoke application credentials."""
    delete_each(CREDENTIAL, credentials)
