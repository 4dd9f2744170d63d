"""The staff alerts repository: the queue of handoff alerts every worker shares, per notification target,
with the messages posted to each target (its per-minute budget) and the lease that lets one worker at a
time send to a target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from bot.store.engine import Transactions
from bot.store.models import StaffAlertLeaseRow, StaffAlertPostRow, StaffAlertRow
from bot.store.records import AlertTargetStatus, HandoffAlert, StaffAlertRecord
from bot.store.rows import check_aware, check_text, insert_or_get, without_nul

TARGET_CHARS = 16
HOLDER_CHARS = 128
POST_RETENTION = timedelta(hours=1)


class StaffAlerts:
    """Every method runs in a transaction of its own."""

    def __init__(self, tx: Transactions) -> None:
        self._tx = tx

    def add(self, alert: HandoffAlert, targets: Sequence[str], now: datetime) -> list[int]:
        """Queue `alert` for each notification target (one pending row each); the new rows' ids."""
        check_aware(now, "now")
        rows = [
            StaffAlertRow(
                target=_target(target),
                conversation_id=alert.conversation_id,
                reason=without_nul(alert.reason)[:255],
                question=without_nul(alert.question),
                attempt=without_nul(alert.attempt) if alert.attempt is not None else None,
                channel=without_nul(alert.channel)[:32],
                user_name=without_nul(alert.user)[:255],
                created_at=check_aware(alert.created_at, "created_at"),
                state="pending",
                attempts=0,
                queued_at=now,
            )
            for target in targets
        ]
        with self._tx.write() as session:
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def target_status(self, target: str, since: datetime) -> AlertTargetStatus:
        """The target's pending alerts and the messages posted to it after `since`."""
        check_aware(since, "since")
        with self._tx.read() as session:
            pending = session.scalar(
                select(func.count()).where(StaffAlertRow.target == target, StaffAlertRow.state == "pending")
            )
            posts = session.scalar(
                select(func.count()).where(
                    StaffAlertPostRow.target == target, StaffAlertPostRow.posted_at > since
                )
            )
            return AlertTargetStatus(pending=pending or 0, posts=posts or 0)

    def pending(self, target: str, limit: int = 200) -> list[StaffAlertRecord]:
        """The target's pending alerts, oldest first."""
        with self._tx.read() as session:
            rows = session.scalars(
                select(StaffAlertRow)
                .where(StaffAlertRow.target == target, StaffAlertRow.state == "pending")
                .order_by(StaffAlertRow.id)
                .limit(max(limit, 0))
            )
            return [row.record() for row in rows]

    def count_pending(self, targets: Sequence[str]) -> int:
        with self._tx.read() as session:
            count = session.scalar(
                select(func.count()).where(
                    StaffAlertRow.target.in_(targets), StaffAlertRow.state == "pending"
                )
            )
            return count or 0

    def take_lease(self, target: str, holder: str, now: datetime, lease_s: float) -> bool:
        """Become the one worker sending to `target` until `now + lease_s`; False while another holder's
        lease runs past `now`. One UPDATE guarded by the lease, so of several workers exactly one gets it."""
        check_aware(now, "now")
        target, holder = _target(target), check_text(holder, "holder", max_chars=HOLDER_CHARS)
        with self._tx.write() as session:
            if session.get(StaffAlertLeaseRow, target) is None:
                insert_or_get(
                    session,
                    StaffAlertLeaseRow(target=target),
                    lambda: session.get(StaffAlertLeaseRow, target),
                )
            result = session.connection().execute(
                update(StaffAlertLeaseRow)
                .where(
                    StaffAlertLeaseRow.target == target,
                    or_(
                        StaffAlertLeaseRow.lease_until.is_(None),
                        StaffAlertLeaseRow.lease_until <= now,
                        StaffAlertLeaseRow.holder == holder,
                    ),
                )
                .values(holder=holder, lease_until=_until(now, lease_s))
            )
            return result.rowcount == 1

    def release_lease(self, target: str, holder: str) -> None:
        with self._tx.write() as session:
            session.connection().execute(
                update(StaffAlertLeaseRow)
                .where(StaffAlertLeaseRow.target == target, StaffAlertLeaseRow.holder == holder)
                .values(holder=None, lease_until=None)
            )

    def spend_post(self, target: str, holder: str, now: datetime, lease_s: float) -> bool:
        """Count one message about to be posted to `target` in its budget and renew the lease; False if
        `holder` lost it."""
        check_aware(now, "now")
        with self._tx.write() as session:
            renewed = session.connection().execute(
                update(StaffAlertLeaseRow)
                .where(StaffAlertLeaseRow.target == target, StaffAlertLeaseRow.holder == holder)
                .values(lease_until=_until(now, lease_s))
            )
            if renewed.rowcount != 1:
                return False
            session.add(StaffAlertPostRow(target=target, posted_at=now))
            session.connection().execute(
                delete(StaffAlertPostRow).where(
                    StaffAlertPostRow.target == target, StaffAlertPostRow.posted_at < now - POST_RETENTION
                )
            )
            return True

    def mark_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        with self._tx.write() as session:
            session.connection().execute(
                update(StaffAlertRow)
                .where(StaffAlertRow.id.in_(alert_ids), StaffAlertRow.state == "pending")
                .values(state="sent", last_error=None, done_at=now)
            )

    def mark_failed(
        self, alert_ids: Sequence[int], error: str, max_attempts: int, now: datetime
    ) -> list[StaffAlertRecord]:
        """Count a failed post of these alerts; those at their `max_attempts`-th failure become "failed"
        and are returned (given up on)."""
        with self._tx.write() as session:
            rows = session.scalars(
                select(StaffAlertRow)
                .where(StaffAlertRow.id.in_(alert_ids), StaffAlertRow.state == "pending")
                .order_by(StaffAlertRow.id)
                .with_for_update()
            ).all()
            given_up = []
            for row in rows:
                row.attempts += 1
                row.last_error = without_nul(error)[:2000]
                if row.attempts >= max_attempts:
                    row.state, row.done_at = "failed", now
                    given_up.append(row)
            session.flush()
            return [row.record() for row in given_up]

    def purge(self, before: datetime) -> int:
        """Delete alerts sent or given up on before `before`; how many."""
        check_aware(before, "before")
        with self._tx.write() as session:
            result = session.connection().execute(
                delete(StaffAlertRow).where(StaffAlertRow.state != "pending", StaffAlertRow.done_at < before)
            )
            return result.rowcount


def _until(now: datetime, lease_s: float) -> datetime:
    return now + timedelta(seconds=max(lease_s, 0.0))


def _target(target: str) -> str:
    return check_text(target, "target", max_chars=TARGET_CHARS)
