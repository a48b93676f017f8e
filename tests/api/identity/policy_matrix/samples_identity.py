"""Sample requests for the identity routes: tokens, projects with their members and quotas,
users, application credentials and the audit trail."""

from __future__ import annotations

from tests.api.identity.personas import PASSWORD, Persona, unique
from tests.api.identity.policy_matrix.world import Call, World, sample

# auth


def _login_body(w: World, who: Persona) -> dict[str, str]:
    user = w.user(who)
    assert user.name and user.password and user.project_name
    return {"username": user.name, "password": user.password, "project": user.project_name}


@sample("POST", "/api/v1/auth/tokens")
async def _issue_token(w: World, who: Persona) -> Call:
    return Call("/api/v1/auth/tokens", json=_login_body(w, who))


@sample("POST", "/api/v1/auth/token")
async def _issue_token_form(w: World, who: Persona) -> Call:
    body = _login_body(w, who)
    form = {"username": body["username"], "password": body["password"], "scope": body["project"]}
    return Call("/api/v1/auth/token", form=form)


@sample("GET", "/api/v1/auth/me")
async def _me(w: World, who: Persona) -> Call:
    return Call("/api/v1/auth/me")


# projects, members, quotas


@sample("GET", "/api/v1/projects")
async def _list_projects(w: World, who: Persona) -> Call:
    return Call("/api/v1/projects")


@sample("POST", "/api/v1/projects")
async def _create_project(w: World, who: Persona) -> Call:
    return Call("/api/v1/projects", json={"name": unique("project")})


@sample("GET", "/api/v1/projects/{project_id}")
async def _get_project(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}")


@sample("PATCH", "/api/v1/projects/{project_id}")
async def _update_project(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}", json={"description": f"by {who.label}"})


@sample("DELETE", "/api/v1/projects/{project_id}")
async def _delete_project(w: World, who: Persona) -> Call:
    project = await w.cast.project()
    return Call(f"/api/v1/projects/{project['id']}")


@sample("GET", "/api/v1/projects/{project_id}/members")
async def _list_members(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/members")


@sample("POST", "/api/v1/projects/{project_id}/members")
async def _add_member(w: World, who: Persona) -> Call:
    user = await w.cast.user()
    body = {"user_id": user["id"], "role": "reader"}
    return Call(f"/api/v1/projects/{w.p.project_id}/members", json=body)


@sample("PUT", "/api/v1/projects/{project_id}/members/{user_id}")
async def _change_member(w: World, who: Persona) -> Call:
    user_id = await w.member_of_p()
    return Call(f"/api/v1/projects/{w.p.project_id}/members/{user_id}", json={"role": "member"})


@sample("DELETE", "/api/v1/projects/{project_id}/members/{user_id}")
async def _remove_member(w: World, who: Persona) -> Call:
    user_id = await w.member_of_p()
    return Call(f"/api/v1/projects/{w.p.project_id}/members/{user_id}")


@sample("GET", "/api/v1/projects/{project_id}/quotas")
async def _get_quotas(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/quotas")


@sample("PUT", "/api/v1/projects/{project_id}/quotas")
async def _set_quotas(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/projects/{w.p.project_id}/quotas", json={"quotas": {"instances": -1}})


# users


@sample("GET", "/api/v1/users")
async def _list_users(w: World, who: Persona) -> Call:
    return Call("/api/v1/users")


@sample("POST", "/api/v1/users")
async def _create_user(w: World, who: Persona) -> Call:
    return Call("/api/v1/users", json={"name": unique("user"), "password": PASSWORD})


@sample("GET", "/api/v1/users/{user_id}")
async def _get_user(w: World, who: Persona) -> Call:
    # Someone else: user:read (one's own record is user:self, see test_users.py).
    return Call(f"/api/v1/users/{w.bystander_id}")


@sample("PATCH", "/api/v1/users/{user_id}")
async def _update_user(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/users/{w.bystander_id}", json={"email": f"{who.label}@example.org"})


@sample("DELETE", "/api/v1/users/{user_id}")
async def _delete_user(w: World, who: Persona) -> Call:
    user = await w.cast.user()
    return Call(f"/api/v1/users/{user['id']}")


@sample("POST", "/api/v1/users/{user_id}/password")
async def _change_password(w: World, who: Persona) -> Call:
    user = w.user(who)
    body = {"original_password": user.password, "password": user.password}

    async def login_again() -> None:
        if who.role is not None:
            await who.relogin(w.container)  # the change voided the persona's token

    return Call(f"/api/v1/users/{user.user_id}/password", json=body, after=login_again)


# application credentials


@sample("GET", "/api/v1/application-credentials")
async def _list_credentials(w: World, who: Persona) -> Call:
    return Call("/api/v1/application-credentials")


@sample("POST", "/api/v1/application-credentials")
async def _create_credential(w: World, who: Persona) -> Call:
    return Call("/api/v1/application-credentials", json={"name": unique("cred")})


@sample("GET", "/api/v1/application-credentials/{credential_id}")
async def _get_credential(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/application-credentials/{await w.credential(who)}")


@sample("DELETE", "/api/v1/application-credentials/{credential_id}")
async def _revoke_credential(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/application-credentials/{await w.credential(who)}")


# audit


@sample("GET", "/api/v1/audit")
async def _audit(w: World, who: Persona) -> Call:
    return Call("/api/v1/audit")
