"""Who is acting, and what each role may write.

Roles (one per token):
- admin: everything;
- centre: organisations, facilities, products and batches in its own province;
- producer: its own organisation's facilities and batches;
- inspector: reads everything, writes nothing in the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from trace.models import Role
from trace.services.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    role: Role
    label: str
    token_id: int | None = None
    #: the console user acting (through a session, or a personal token of theirs)
    user_id: int | None = None
    organization_id: int | None = None
    province_code: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_manage_province(self, province_code: str) -> bool:
        return self.is_admin or (self.role is Role.CENTRE and self.province_code == province_code)

    def may_manage_organization(self, organization_id: int, province_code: str) -> bool:
        """Facilities and batches of an organisation: its own producer, its centre, admin."""
        if self.may_manage_province(province_code):
            return True
        return self.role is Role.PRODUCER and self.organization_id == organization_id

    def require(self, allowed: bool, what: str) -> None:
        if not allowed:
            raise Forbidden(f"A {self.role.value} token may not {what}.")


SYSTEM = Actor(role=Role.ADMIN, label="system")
