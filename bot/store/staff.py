"""The staff repository: console accounts, the login lockout counter, and the audit log of what staff did."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.columns import utcnow
from bot.store.engine import Transactions
from bot.store.models import AuditRow, StaffRow
from bot.store.records import STAFF_ROLES, AuditRecord, StaffRecord, StaffRole
from bot.store.rows import check_aware, check_choice, check_text, insert_or_get, without_nul
from config.errors import StoreError

USERNAME_CHARS = 64


class StaffAccounts:
    """Every method runs in a transaction of its own; the password is only ever stored as a hash."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add(self, username: str, password_hash: str, role: StaffRole) -> StaffRecord:
        """A new account ("staff" or "admin"); StoreError if the username is taken."""
        username = check_text(username, "username", max_chars=USERNAME_CHARS)
        check_text(password_hash, "password_hash", max_chars=255)
        check_choice(role, STAFF_ROLES, "role")
        with self._tx.write() as session:
            if _by_name(session, username) is not None:
                raise _duplicate(username)
            row = StaffRow(
                username=username,
                password_hash=password_hash,
                role=role,
                failed_logins=0,
                created_at=utcnow(),
            )
            _, inserted = insert_or_get(session, row, lambda: _by_name(session, username))
            if not inserted:
                raise _duplicate(username)
            return row.record()

    def get(self, username: str) -> StaffRecord | None:
        with self._tx.read() as session:
            row = _by_name(session, username.strip())
            return row.record() if row is not None else None

    def accounts(self) -> list[StaffRecord]:
        """Every account, by username."""
        with self._tx.read() as session:
            return [row.record() for row in session.scalars(select(StaffRow).order_by(StaffRow.username))]

    def count(self) -> int:
        with self._tx.read() as session:
            return session.scalar(select(func.count()).select_from(StaffRow)) or 0

    def set_password(self, username: str, password_hash: str) -> StaffRecord:
        """Replace an account's password hash and lift any lockout."""
        check_text(password_hash, "password_hash", max_chars=255)
        with self._tx.write() as session:
            row = _by_name(session, username.strip())
            if row is None:
                raise StoreError(f"工作人员不存在 / staff account not found: {username}")
            row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
            session.flush()
            return row.record()

    def set_role(self, username: str, role: StaffRole) -> StaffRecord:
        """Change an account's role; the last administrator cannot lose the role."""
        check_choice(role, STAFF_ROLES, "role")
        with self._tx.write() as session:
            row = _locked_by_name(session, username)
            if row.role == "admin" and role != "admin":
                _keep_an_admin(session, row)
            row.role = role
            session.flush()
            return row.record()

    def remove(self, username: str) -> None:
        """Delete an account (its name stays on the messages and audit entries it wrote); never the last
        administrator."""
        with self._tx.write() as session:
            row = _locked_by_name(session, username)
            if row.role == "admin":
                _keep_an_admin(session, row)
            session.delete(row)
            session.flush()

    def admit_login(
        self, username: str, *, lock_after: int, lock_for_s: float, now: datetime
    ) -> StaffRecord | None:
        """Count a login attempt before its password is checked, in one locked row update: None for an
        unknown user; a record whose `locked_until` is after `now` when the account is locked (refuse
        without checking). Otherwise the attempt counts as a failure until `login_succeeded` says
        otherwise, and the `lock_after`-th failure in a row locks the account until `now + lock_for_s`, so
        parallel guesses can never check more than `lock_after` passwords."""
        check_aware(now, "now")
        with self._tx.write() as session:
            row = session.scalars(
                select(StaffRow).where(StaffRow.username == username.strip()).with_for_update(key_share=True)
            ).one_or_none()
            if row is None:
                return None
            if row.locked_until is not None and row.locked_until > now:
                if row.failed_logins >= lock_after > 0:
                    row.locked_until = now + timedelta(seconds=lock_for_s)  # each refused try extends it
                return row.record()
            row.failed_logins += 1
            admitted = row.record()
            if lock_after > 0 and row.failed_logins >= lock_after:
                row.locked_until = now + timedelta(seconds=lock_for_s)
            session.flush()
            return admitted

    def login_succeeded(self, username: str, now: datetime) -> StaffRecord | None:
        """The password of an admitted attempt was right: the failures are cleared. None when other
        attempts locked the account meanwhile (a burst of guesses): the login is refused then."""
        check_aware(now, "now")
        with self._tx.write() as session:
            row = _locked_by_name(session, username)
            if row.locked_until is not None and row.locked_until > now:
                return None
            row.failed_logins, row.locked_until = 0, None
            session.flush()
            return row.record()

    def audit(self, actor: str, action: str, detail: str) -> None:
        """Add an entry to the audit log."""
        entry = AuditRow(
            actor=check_text(actor, "actor", max_chars=128),
            action=check_text(action, "action", max_chars=64),
            detail=without_nul(detail),
        )
        with self._tx.write() as session:
            session.add(entry)

    def audit_log(self, limit: int = 200) -> list[AuditRecord]:
        """Newest first."""
        with self._tx.read() as session:
            rows = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(max(limit, 0)))
            return [row.record() for row in rows]


def _by_name(session: Session, username: str) -> StaffRow | None:
    return session.scalars(select(StaffRow).where(StaffRow.username == username)).one_or_none()


def _duplicate(username: str) -> StoreError:
    return StoreError(f"用户名已存在 / username already exists: {username}")


def _locked_by_name(session: Session, username: str) -> StaffRow:
    row = session.scalars(
        select(StaffRow).where(StaffRow.username == username.strip()).with_for_update()
    ).one_or_none()
    if row is None:
        raise StoreError(f"工作人员不存在 / staff account not found: {username}")
    return row


def _keep_an_admin(session: Session, leaving: StaffRow) -> None:
    admins = session.scalars(select(StaffRow.id).where(StaffRow.role == "admin").with_for_update()).all()
    if list(admins) == [leaving.id]:
        raise StoreError("至少要保留一名管理员 / at least one administrator must remain")
