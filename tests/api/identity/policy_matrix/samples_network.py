"""Sample requests for the network routes: networks, subnets, ports, floating IPs and security
groups."""

from __future__ import annotations

from tests.api.identity.personas import Persona, unique
from tests.api.identity.policy_matrix.world import Call, World, sample

# networks, subnets, ports, floating IPs

_NET_CACHE: dict[str, dict[str, str]] = {}
_CIDRS = iter(range(1, 60000))


async def _net_quotas(w: World) -> None:
    await w.cast.set_quotas(w.p.project_id, networks=-1, subnets=-1, ports=-1, floating_ips=-1)


async def _network(w: World, *, subnet: bool = True) -> tuple[str, str | None]:
    """A throwaway network of P (made by P's member), with a fresh /24 subnet."""
    await _net_quotas(w)
    http = w.p.member.http
    response = await http.post("/api/v1/networks", json={"name": unique("net")})
    assert response.status_code == 202, response.text
    network_id = str(response.json()["id"])
    if not subnet:
        return network_id, None
    return network_id, await _subnet(w, network_id)


async def _subnet(w: World, network_id: str) -> str:
    n = next(_CIDRS)
    body = {"network_id": network_id, "cidr": f"10.{n // 256 % 256}.{n % 256}.0/24"}
    response = await w.p.member.http.post("/api/v1/subnets", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _shared_net(w: World) -> dict[str, str]:
    """One network, subnet, port and floating IP of P for the read and update samples."""
    cached = _NET_CACHE.get(w.p.project_id)
    if cached is None:
        network_id, subnet_id = await _network(w)
        assert subnet_id is not None
        cached = {"network": network_id, "subnet": subnet_id}
        cached["port"] = await _port(w, network_id)
        cached["fip"] = await _fip(w)
        _NET_CACHE[w.p.project_id] = cached
    return cached


async def _port(w: World, network_id: str | None = None) -> str:
    if network_id is None:
        network_id = (await _shared_net(w))["network"]
    response = await w.p.member.http.post("/api/v1/ports", json={"network_id": network_id})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _fip(w: World) -> str:
    await _net_quotas(w)
    response = await w.p.member.http.post("/api/v1/floating-ips", json={})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@sample("GET", "/api/v1/networks")
async def _list_networks(w: World, who: Persona) -> Call:
    return Call("/api/v1/networks")


@sample("POST", "/api/v1/networks")
async def _create_network(w: World, who: Persona) -> Call:
    await _net_quotas(w)
    return Call("/api/v1/networks", json={"name": unique("net")})


@sample("GET", "/api/v1/networks/{network_id}")
async def _get_network(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/networks/{(await _shared_net(w))['network']}")


@sample("PATCH", "/api/v1/networks/{network_id}")
async def _update_network(w: World, who: Persona) -> Call:
    network_id = (await _shared_net(w))["network"]
    return Call(f"/api/v1/networks/{network_id}", json={"description": who.label})


@sample("DELETE", "/api/v1/networks/{network_id}")
async def _delete_network(w: World, who: Persona) -> Call:
    network_id, _ = await _network(w, subnet=False)
    return Call(f"/api/v1/networks/{network_id}")


@sample("GET", "/api/v1/subnets")
async def _list_subnets(w: World, who: Persona) -> Call:
    return Call("/api/v1/subnets")


@sample("POST", "/api/v1/subnets")
async def _create_subnet(w: World, who: Persona) -> Call:
    n = next(_CIDRS)
    network_id = (await _shared_net(w))["network"]
    body = {"network_id": network_id, "cidr": f"10.{n // 256 % 256}.{n % 256}.0/24"}
    return Call("/api/v1/subnets", json=body)


@sample("GET", "/api/v1/subnets/{subnet_id}")
async def _get_subnet(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/subnets/{(await _shared_net(w))['subnet']}")


@sample("PATCH", "/api/v1/subnets/{subnet_id}")
async def _update_subnet(w: World, who: Persona) -> Call:
    subnet_id = (await _shared_net(w))["subnet"]
    return Call(f"/api/v1/subnets/{subnet_id}", json={"name": who.label})


@sample("DELETE", "/api/v1/subnets/{subnet_id}")
async def _delete_subnet(w: World, who: Persona) -> Call:
    subnet_id = await _subnet(w, (await _shared_net(w))["network"])
    return Call(f"/api/v1/subnets/{subnet_id}")


@sample("GET", "/api/v1/ports")
async def _list_ports(w: World, who: Persona) -> Call:
    return Call("/api/v1/ports")


@sample("POST", "/api/v1/ports")
async def _create_port(w: World, who: Persona) -> Call:
    return Call("/api/v1/ports", json={"network_id": (await _shared_net(w))["network"]})


@sample("GET", "/api/v1/ports/{port_id}")
async def _get_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{(await _shared_net(w))['port']}")


@sample("PATCH", "/api/v1/ports/{port_id}")
async def _update_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{(await _shared_net(w))['port']}", json={"name": who.label})


@sample("DELETE", "/api/v1/ports/{port_id}")
async def _delete_port(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/ports/{await _port(w)}")


@sample("GET", "/api/v1/floating-ips")
async def _list_fips(w: World, who: Persona) -> Call:
    return Call("/api/v1/floating-ips")


@sample("POST", "/api/v1/floating-ips")
async def _create_fip(w: World, who: Persona) -> Call:
    await _net_quotas(w)
    return Call("/api/v1/floating-ips", json={"description": who.label})


@sample("GET", "/api/v1/floating-ips/{fip_id}")
async def _get_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{(await _shared_net(w))['fip']}")


@sample("DELETE", "/api/v1/floating-ips/{fip_id}")
async def _delete_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{await _fip(w)}")


@sample("POST", "/api/v1/floating-ips/{fip_id}/actions/associate")
async def _associate_fip(w: World, who: Persona) -> Call:
    body = {"vm_id": await w.server()}
    return Call(f"/api/v1/floating-ips/{await _fip(w)}/actions/associate", json=body)


@sample("POST", "/api/v1/floating-ips/{fip_id}/actions/disassociate")
async def _disassociate_fip(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/floating-ips/{await _fip(w)}/actions/disassociate")


# security groups


async def _sg_rule(w: World) -> tuple[str, str]:
    """A throwaway group of P with one extra rule: (group id, rule id)."""
    group_id = await w.security_group()
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    response = await w.p.member.http.post(f"/api/v1/security-groups/{group_id}/rules", json=rule)
    assert response.status_code == 202, response.text
    return group_id, str(response.json()["id"])


@sample("GET", "/api/v1/security-groups")
async def _list_sgs(w: World, who: Persona) -> Call:
    return Call("/api/v1/security-groups")


@sample("POST", "/api/v1/security-groups")
async def _create_sg(w: World, who: Persona) -> Call:
    await w.cast.set_quotas(w.p.project_id, security_groups=-1, security_group_rules=-1)
    return Call("/api/v1/security-groups", json={"name": unique("sg")})


@sample("GET", "/api/v1/security-groups/{group_id}")
async def _get_sg(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await w.security_group()}")


@sample("PATCH", "/api/v1/security-groups/{group_id}")
async def _update_sg(w: World, who: Persona) -> Call:
    return Call(
        f"/api/v1/security-groups/{await w.security_group()}", json={"description": who.label}
    )


@sample("DELETE", "/api/v1/security-groups/{group_id}")
async def _delete_sg(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await w.security_group()}")


@sample("GET", "/api/v1/security-groups/{group_id}/rules")
async def _list_sg_rules(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/security-groups/{await w.security_group()}/rules")


@sample("POST", "/api/v1/security-groups/{group_id}/rules")
async def _create_sg_rule(w: World, who: Persona) -> Call:
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}
    return Call(f"/api/v1/security-groups/{await w.security_group()}/rules", json=rule)


@sample("GET", "/api/v1/security-groups/{group_id}/rules/{rule_id}")
async def _get_sg_rule(w: World, who: Persona) -> Call:
    group_id, rule_id = await _sg_rule(w)
    return Call(f"/api/v1/security-groups/{group_id}/rules/{rule_id}")


@sample("DELETE", "/api/v1/security-groups/{group_id}/rules/{rule_id}")
async def _delete_sg_rule(w: World, who: Persona) -> Call:
    group_id, rule_id = await _sg_rule(w)
    return Call(f"/api/v1/security-groups/{group_id}/rules/{rule_id}")
