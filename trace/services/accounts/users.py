"""Users: one role in one organisation (a centre user: in one province), a login by email or
phone number, a password hash. Who may create whom follows the tokens' rule (admin anyone, a
centre its own province's organisations)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import Organization, Role, User
from trace.provinces import PROVINCES
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError, InvalidInput

LANGUAGES = ("vi", "en")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(text: str) -> str | None:
    """The address lower-cased, or ``None`` when it is not one."""
    value = text.strip().lower()
    return value if _EMAIL.match(value) and len(value) <= 200 else None


def normalize_phone(text: str) -> str | None:
    """A Vietnamese number in its national form (``0912345678``) whatever the spacing, dots or
    ``+84``; another country's number keeps its ``+``. ``None`` when it is not a number."""
    value = re.sub(r"[\s.\-()]", "", text.strip())
    if value.startswith("+84"):
        value = "0" + value[3:]
    elif value.startswith("84") and len(value) == 11:
        value = "0" + value[2:]
    digits = value.removeprefix("+")
    if not digits.isdigit() or not 9 <= len(digits) <= 15:
        return None
    return value


def find_by_login(session: Session, login: str) -> User | None:
    """The user whose email or phone number ``login`` is (in any usual spelling)."""
    if "@" in login:
        email = normalize_email(login)
        return session.scalar(select(User).where(User.email == email)) if email else None
    phone = normalize_phone(login)
    return session.scalar(select(User).where(User.phone == phone)) if phone else None


def actor_for(user: User, token_id: int | None = None) -> Actor:
    """What the user acts as: the same rules whether through a console session or a personal
    token (``token_id``), and audit entries that name the user."""
    return Actor(
        role=user.role,
        label=f"user:{user.login}"[:100],
        token_id=token_id,
        user_id=user.id,
        organization_id=user.organization_id,
        province_code=user.province_code,
    )


def create_user(
    session: Session,
    actor: Actor,
    *,
    role: Role,
    email: str | None = None,
    phone: str | None = None,
    organization_id: int | None = None,
    province_code: str | None = None,
    name: str = "",
    password_hash: str = "",
    language: str = "vi",
) -> User:
    """A new user; without ``password_hash`` they cannot sign in until they set one."""
    errors: list[FieldError] = []
    normal_email = normalize_email(email) if email else None
    normal_phone = normalize_phone(phone) if phone else None
    if email and normal_email is None:
        errors.append(FieldError("/email", "not an email address"))
    if phone and normal_phone is None:
        errors.append(FieldError("/phone", "not a phone number"))
    if not email and not phone:
        errors.append(FieldError("/email", "an email address or a phone number is needed"))
    if language not in LANGUAGES:
        errors.append(FieldError("/language", "vi or en"))
    org = session.get(Organization, organization_id) if organization_id is not None else None
    if organization_id is not None and org is None:
        errors.append(
            FieldError("/organization_id", f"organisation {organization_id} does not exist")
        )
    if role is Role.PRODUCER and organization_id is None:
        errors.append(FieldError("/organization_id", "a producer belongs to an organisation"))
    if role is Role.CENTRE and province_code is None:
        province_code = org.province_code if org is not None else None
        if province_code is None:
            errors.append(FieldError("/province_code", "a centre user works in a province"))
    if province_code is not None and province_code not in PROVINCES:
        errors.append(FieldError("/province_code", f"{province_code!r} is not a province code"))
    if errors:
        raise InvalidInput("The user cannot be created as given.", errors=errors)
    if org is not None:
        actor.require(
            actor.may_manage_province(org.province_code), "add people to this organisation"
        )
    else:
        actor.require(actor.is_admin, "add people outside an organisation")
    if role is Role.ADMIN or role is Role.INSPECTOR:
        actor.require(actor.is_admin, f"create {role.value} accounts")
    if role is Role.CENTRE:
        actor.require(actor.may_manage_province(str(province_code)), "create this centre account")
    for column, value, pointer in (
        (User.email, normal_email, "/email"),
        (User.phone, normal_phone, "/phone"),
    ):
        if value is not None and session.scalar(select(User.id).where(column == value)) is not None:
            raise Conflict(
                f"{value} already has an account.",
                errors=[FieldError(pointer, "already has an account")],
            )
    user = User(
        role=role,
        email=normal_email,
        phone=normal_phone,
        organization_id=organization_id,
        province_code=province_code if role is Role.CENTRE else None,
        name=name.strip()[:200],
        password_hash=password_hash,
        language=language,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "user",
        user.id,
        after={
            "role": role.value,
            "organization_id": organization_id,
            "province_code": user.province_code,
            "email": normal_email,
            "phone": normal_phone,
        },
    )
    return user


def may_manage_user(actor: Actor, user: User) -> bool:
    """An admin manages everyone; a centre officer the producers and centre officers of its
    province's organisations (never an admin or an inspector)."""
    if actor.is_admin:
        return True
    if actor.role is not Role.CENTRE or user.role in (Role.ADMIN, Role.INSPECTOR):
        return False
    org = user.organization
    province = org.province_code if org is not None else user.province_code
    return province is not None and actor.may_manage_province(province)
