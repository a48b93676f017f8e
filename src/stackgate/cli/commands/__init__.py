"""The client verbs, one module per object family (`stackgate <object> <action>`)."""

from __future__ import annotations

import typer


def add_client_commands(root: typer.Typer) -> None:
    """Hang every object family on the root command (multi-word objects also hyphenated)."""
    from stackgate.cli.commands import (
        catalog,
        event,
        floating_ip,
        identity,
        network,
        operation,
        security_group,
        server,
        usage,
        volume,
    )

    root.add_typer(server.app, name="server")
    root.add_typer(volume.app, name="volume")
    root.add_typer(network.network_app, name="network")
    root.add_typer(network.subnet_app, name="subnet")
    root.add_typer(network.port_app, name="port")
    root.add_typer(security_group.security_app, name="security")
    root.add_typer(security_group.group_app, name="security-group")
    root.add_typer(floating_ip.floating_app, name="floating")
    root.add_typer(floating_ip.ip_app, name="floating-ip")
    root.add_typer(catalog.flavor_app, name="flavor")
    root.add_typer(catalog.image_app, name="image")
    identity.register(root)
    root.add_typer(usage.app, name="usage")
    root.add_typer(operation.app, name="operation")
    root.add_typer(event.app, name="event")
