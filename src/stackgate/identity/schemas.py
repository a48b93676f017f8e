"""Body pieces more than one identity sub-feature uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from stackgate.core.schemas import Text

# A secret as a caller sends it to prove who they are (a password, a credential's secret).
Password = Annotated[Text, StringConstraints(min_length=1, max_length=1024)]
