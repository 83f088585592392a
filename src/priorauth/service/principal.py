"""Who is calling: the principal behind each call, and the roles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from priorauth.service.errors import Forbidden

ROLES = ("submitter", "reviewer", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, role and organisation (and when the token expires, if it does)."""

    token_id: str
    role: str
    org: str
    label: str = ""
    expires_at: dt.datetime | None = None

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Whether the token behind this principal has expired."""
        return self.expires_at is not None and self.expires_at <= (now or dt.datetime.now(dt.UTC))

    def require(self, *roles: str) -> None:
        """Forbidden unless this principal has one of `roles`."""
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this; needs {' or '.join(roles)}")


SYSTEM = Principal(token_id="system", role="admin", org="system", label="command line")
"""The operator at the command line (`priorauth tokens create`, demo setup)."""

ENGINE = Principal(token_id="engine", role="engine", org="system", label="decision engine")
