"""Who is calling: the principal behind each call, and the roles."""

from __future__ import annotations

from dataclasses import dataclass

from priorauth.service.errors import Forbidden

ROLES = ("submitter", "reviewer", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, role and organisation."""

    token_id: str
    role: str
    org: str
    label: str = ""

    def require(self, *roles: str) -> None:
        """Forbidden unless this principal has one of `roles`."""
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this; needs {' or '.join(roles)}")


SYSTEM = Principal(token_id="system", role="admin", org="system", label="command line")
"""The operator at the command line (`priorauth tokens create`, demo setup)."""

ENGINE = Principal(token_id="engine", role="engine", org="system", label="decision engine")
