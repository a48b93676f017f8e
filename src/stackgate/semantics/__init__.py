"""What OpenStack does, as pure rules: Nova's state table, Cinder's statuses, Neutron's rule
normalisation and address math, the default security group's template.

The control plane and the simulator both read these, so the two cannot drift apart. Nothing
here imports a framework, a database layer or another StackGate package.
"""
