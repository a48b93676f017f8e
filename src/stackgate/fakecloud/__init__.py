"""`stackgate fakecloud`: the simulator served over OpenStack's own wire protocol (Keystone v3,
Nova v2.1, Glance v2, Neutron v2.0, Cinder v3), so unmodified OpenStack clients (openstacksdk,
python-openstackclient, the `openstack` provider) work against it. Only the subset StackGate and
the common `openstack` commands use."""
