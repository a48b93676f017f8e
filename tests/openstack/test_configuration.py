"""A misconfigured OpenStack provider is refused at start-up, naming what is missing, rather
than leaving the first operation to wait out its deadline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackgate.config import Settings
from stackgate.providers.base import ProviderMisconfigured
from stackgate.providers.openstack import OpenStackProvider
from stackgate.providers.openstack.session import CloudSession
from tests.conftest import make_settings


@pytest.fixture
def no_cloud_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No OS_* variable and an empty clouds.yaml, as on a machine never set up for OpenStack."""
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


async def refused(provider: OpenStackProvider) -> str:
    try:
        with pytest.raises(ProviderMisconfigured) as caught:
            await provider.start()
    finally:
        await provider.close()
    return caught.value.message


async def test_no_credentials_at_all_name_os_auth_url(no_cloud_config: None) -> None:
    settings: Settings = make_settings("sqlite+aiosqlite://", provider="openstack")
    message = await refused(OpenStackProvider.from_settings(settings))
    assert "OS_AUTH_URL" in message and "STACKGATE_OS_CLOUD" in message


async def test_an_unknown_clouds_yaml_entry_is_named(no_cloud_config: None) -> None:
    settings = make_settings("sqlite+aiosqlite://", provider="openstack", os_cloud="production")
    message = await refused(OpenStackProvider.from_settings(settings))
    assert "STACKGATE_OS_CLOUD=production" in message and "not found" in message


async def test_a_url_without_user_or_password_names_both(no_cloud_config: None) -> None:
    provider = OpenStackProvider(
        CloudSession(connect_kwargs={"auth_url": "http://127.0.0.1:9/v3"}, threads=1)
    )
    assert "lack OS_USERNAME, OS_PASSWORD" in await refused(provider)


async def test_a_complete_configuration_starts_without_calling_the_cloud(
    no_cloud_config: None,
) -> None:
    # Nothing listens on port 9: start-up checks the configuration only.
    provider = OpenStackProvider(
        CloudSession(
            connect_kwargs={
                "auth_url": "http://127.0.0.1:9/v3",
                "username": "stackgate",
                "password": "secret",
                "project_name": "admin",
            },
            threads=1,
        )
    )
    try:
        await provider.start()
    finally:
        await provider.close()
