"""The client side of the `stackgate` command: profiles, HTTP, output, waiting, names.

It talks to StackGate over HTTP only: nothing here imports the server's code."""
