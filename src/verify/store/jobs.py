"""The background job queue, kept in the evidence store (issue 15, migration 1502).

Long work (hashing a folder into the archive, giving old pictures newer fingerprints, back-fills)
is a row in ``job``; ``verify worker`` processes on any machine that shares the database claim
rows, run them and write their progress back. No new service: the database the team already runs
is the coordinator.

Claiming is one atomic statement. PostgreSQL: ``UPDATE job ... WHERE id = (SELECT id ... FOR
UPDATE SKIP LOCKED)``, so two workers asking at once lock different rows and never wait on each
other. SQLite has one writer at a time (``BEGIN IMMEDIATE``), so the same ``UPDATE ... WHERE
status = 'queued'`` without the locking clause is already exclusive. Either way the claim
writes a fresh random **claim token**, and every later write of the worker (heartbeat, progress,
finish) carries ``WHERE claim_token = :token``: a worker that lost its job (its lease expired and
another worker took it over, or an editor cancelled it) changes nothing and learns so from the
row count.

A claim holds a **lease** (``lease_until``, seconds since the epoch by the *database's* clock,
so workers on machines with different clocks agree). A live worker extends it on a heartbeat; a
worker killed mid-job stops doing so, and once the lease has run out the job is claimable again
and re-run from the start. Jobs are written to be re-runnable: each unit of work (one file, one
item) commits on its own and is skipped when already done, so a re-run finishes the work and
nothing is left half-written. After ``max_attempts`` claims the job is marked failed instead of
being retried for ever (a file that kills every worker that touches it).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from verify.errors import Conflict, NotFound
from verify.events import now_iso

#: A job's life: queued -> running -> done | failed; queued or running -> cancelled by an editor.
STATUSES = ("queued", "running", "done", "failed", "cancelled")
#: Default lease: a worker that has not been heard of for this long is taken for dead.
LEASE_S = 60.0
MAX_ATTEMPTS = 3


def create(conn: Connection) -> None:
    """DDL of migration 1502 (explicit, so old databases upgrade the way new ones are built)."""
    pg = conn.dialect.name == "postgresql"
    serial = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER NOT NULL PRIMARY KEY"
    real = "DOUBLE PRECISION" if pg else "REAL"
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS job (id {serial}, kind VARCHAR(32) NOT NULL, params TEXT NOT NULL, "
        "status VARCHAR(16) NOT NULL, created_at VARCHAR(40) NOT NULL, created_by TEXT NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 3, "
        f"claim_token VARCHAR(40), worker TEXT, lease_until {real}, started_at VARCHAR(40), "
        "heartbeat_at VARCHAR(40), finished_at VARCHAR(40), done_count INTEGER NOT NULL DEFAULT 0, "
        "total_count INTEGER, failed_count INTEGER NOT NULL DEFAULT 0, current TEXT, result TEXT, error TEXT)"
    )
    # The claim looks for the oldest queued job or an expired running one: both by (status, id).
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_job_status ON job (status, id)")


def _now_sql(dialect: str) -> str:
    """The database's clock in seconds since the epoch (the one clock every worker shares)."""
    if dialect == "postgresql":
        return "EXTRACT(EPOCH FROM clock_timestamp())"
    return "((julianday('now') - 2440587.5) * 86400.0)"


@dataclass
class Job:
    """One row of the queue, as ``verify jobs --json`` prints it."""

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    created_at: str
    created_by: str
    attempts: int
    max_attempts: int
    worker: str | None
    started_at: str | None
    heartbeat_at: str | None
    finished_at: str | None
    done: int
    total: int | None
    failed: int
    current: str | None
    result: dict[str, Any] | None
    error: str | None
    lease_left_s: float | None = None
    claim_token: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "params": self.params,
            "progress": {"done": self.done, "total": self.total, "failed": self.failed, "current": self.current},
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "worker": self.worker,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "finished_at": self.finished_at,
            "lease_left_s": None if self.lease_left_s is None else round(self.lease_left_s, 1),
            "result": self.result,
            "error": self.error,
        }


_COLUMNS = (
    "id, kind, params, status, created_at, created_by, attempts, max_attempts, worker, started_at, heartbeat_at, "
    "finished_at, done_count, total_count, failed_count, current, result, error, claim_token"
)


def _job(row: Any, lease_left: float | None = None) -> Job:
    m = row._mapping
    return Job(
        id=m["id"], kind=m["kind"], params=json.loads(m["params"]), status=m["status"], created_at=m["created_at"],
        created_by=m["created_by"], attempts=m["attempts"], max_attempts=m["max_attempts"], worker=m["worker"],
        started_at=m["started_at"], heartbeat_at=m["heartbeat_at"], finished_at=m["finished_at"], done=m["done_count"],
        total=m["total_count"], failed=m["failed_count"], current=m["current"],
        result=json.loads(m["result"]) if m["result"] else None, error=m["error"], lease_left_s=lease_left,
        claim_token=m["claim_token"],
    )  # fmt: skip


class LeaseLost(Exception):
    """This worker no longer holds the job (lease expired and re-claimed, or cancelled)."""


class JobQueue:
    """Queue operations over a ``Store`` (its engine and its ``write``/``read`` transactions)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.now = _now_sql(store.dialect)

    # -- editors and scripts ------------------------------------------------------------------

    def enqueue(self, kind: str, params: dict[str, Any], *, actor: str, max_attempts: int = MAX_ATTEMPTS) -> Job:
        with self.store.write() as conn:
            job_id = conn.execute(
                text(
                    "INSERT INTO job (kind, params, status, created_at, created_by, max_attempts) "
                    "VALUES (:kind, :params, 'queued', :at, :by, :max) RETURNING id"
                ),
                {"kind": kind, "params": json.dumps(params, sort_keys=True), "at": now_iso(), "by": actor, "max": max_attempts},
            ).scalar_one()
        return self.get(job_id)

    def get(self, job_id: int) -> Job:
        with self.store.read() as conn:
            row = conn.execute(
                text(f"SELECT {_COLUMNS}, lease_until - {self.now} AS lease_left FROM job WHERE id = :id"), {"id": job_id}
            ).first()
        if row is None:
            raise NotFound(f"There is no job {job_id}.")
        left = row._mapping["lease_left"]
        return _job(row, float(left) if left is not None and row._mapping["status"] == "running" else None)

    def list(self, *, status: str | None = None, limit: int = 100) -> list[Job]:
        """Newest first."""
        where = "WHERE status = :status" if status else ""
        with self.store.read() as conn:
            rows = conn.execute(
                text(f"SELECT {_COLUMNS}, lease_until - {self.now} AS lease_left FROM job {where} ORDER BY id DESC LIMIT :limit"),
                {"status": status, "limit": limit},
            ).all()
        return [_job(r, float(r._mapping["lease_left"]) if r._mapping["lease_left"] is not None and r._mapping["status"] == "running" else None) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.store.read() as conn:
            return {s: n for s, n in conn.execute(text("SELECT status, count(*) FROM job GROUP BY status")).all()}

    def cancel(self, job_id: int) -> Job:
        """A queued job is never started; a running one is told at its next heartbeat (its worker
        stops after the unit of work in hand, which is committed whole)."""
        with self.store.write() as conn:
            n = conn.execute(
                text("UPDATE job SET status = 'cancelled', finished_at = :at WHERE id = :id AND status IN ('queued', 'running')"),
                {"id": job_id, "at": now_iso()},
            ).rowcount
        job = self.get(job_id)
        if not n and job.status != "cancelled":
            raise Conflict(f"Job {job_id} is {job.status}; only a queued or running job can be cancelled.")
        return job

    def retry(self, job_id: int) -> Job:
        """Queue a failed or cancelled job again (its attempts start over)."""
        with self.store.write() as conn:
            n = conn.execute(
                text(
                    "UPDATE job SET status = 'queued', attempts = 0, error = NULL, claim_token = NULL, lease_until = NULL, "
                    "finished_at = NULL WHERE id = :id AND status IN ('failed', 'cancelled')"
                ),
                {"id": job_id},
            ).rowcount
        job = self.get(job_id)
        if not n:
            raise Conflict(f"Job {job_id} is {job.status}; only a failed or cancelled job can be retried.")
        return job

    # -- workers ------------------------------------------------------------------------------

    def claim(self, worker: str, *, lease_s: float = LEASE_S, kinds: tuple[str, ...] | None = None) -> Job | None:
        """Take the oldest job that is queued or whose worker's lease ran out; ``None`` if none.

        In the same transaction, running jobs whose lease ran out and that have had all their
        attempts are marked failed (a file that kills every worker must not be retried for ever).
        """
        token = secrets.token_hex(16)
        kind_sql = ""
        params: dict[str, Any] = {"token": token, "worker": worker, "lease": lease_s, "at": now_iso()}
        if kinds:
            names = [f":k{i}" for i in range(len(kinds))]
            kind_sql = f" AND kind IN ({', '.join(names)})"
            params.update({f"k{i}": k for i, k in enumerate(kinds)})
        lock = " FOR UPDATE SKIP LOCKED" if self.store.dialect == "postgresql" else ""
        with self.store.write() as conn:
            conn.execute(
                text(
                    "UPDATE job SET status = 'failed', finished_at = :at, claim_token = NULL, "
                    "error = 'its worker stopped before finishing, ' || attempts || ' times (killed, crashed or cut off); "
                    "not retried again' "
                    f"WHERE status = 'running' AND lease_until < {self.now} AND attempts >= max_attempts"
                ),
                {"at": params["at"]},
            )
            conn.execute(
                text(
                    f"UPDATE job SET status = 'running', claim_token = :token, worker = :worker, attempts = attempts + 1, "
                    f"lease_until = {self.now} + :lease, started_at = :at, heartbeat_at = :at, current = NULL "
                    f"WHERE id = (SELECT id FROM job WHERE (status = 'queued' OR (status = 'running' AND lease_until < {self.now})) "
                    f"AND attempts < max_attempts{kind_sql} ORDER BY id LIMIT 1{lock})"
                ),
                params,
            )
            row = conn.execute(text(f"SELECT {_COLUMNS} FROM job WHERE claim_token = :token"), {"token": token}).first()
        return _job(row, lease_s) if row is not None else None

    def heartbeat(
        self, job: Job, *, lease_s: float = LEASE_S, done: int | None = None, total: int | None = None,
        failed: int | None = None, current: str | None = None,
    ) -> None:  # fmt: skip
        """Extend the lease and record progress. Raises ``LeaseLost`` when the job is no longer ours."""
        sets = [f"lease_until = {self.now} + :lease", "heartbeat_at = :at"]
        params: dict[str, Any] = {"id": job.id, "token": job.claim_token, "lease": lease_s, "at": now_iso()}
        for col, value in (("done_count", done), ("total_count", total), ("failed_count", failed), ("current", current)):
            if value is not None:
                sets.append(f"{col} = :{col}")
                params[col] = value
        with self.store.write() as conn:
            n = conn.execute(
                text(f"UPDATE job SET {', '.join(sets)} WHERE id = :id AND claim_token = :token AND status = 'running'"), params
            ).rowcount
        if not n:
            raise LeaseLost(f"job {job.id} is no longer held by this worker")

    def finish(self, job: Job, result: dict[str, Any], *, done: int | None = None, total: int | None = None,
               failed: int | None = None) -> bool:  # fmt: skip
        """Mark the job done. False when it was no longer ours (another worker finishes it)."""
        return self._end(job, "done", result=result, error=None, done=done, total=total, failed=failed)

    def fail(self, job: Job, error: str, result: dict[str, Any] | None = None) -> bool:
        return self._end(job, "failed", result=result, error=error[:2000])

    def release(self, job: Job) -> bool:
        """Give a job back untouched by this claim (the worker is stopping): queued again at once,
        and this attempt does not count."""
        with self.store.write() as conn:
            return bool(
                conn.execute(
                    text(
                        "UPDATE job SET status = 'queued', claim_token = NULL, lease_until = NULL, worker = NULL, "
                        "current = NULL, attempts = attempts - 1 WHERE id = :id AND claim_token = :token AND status = 'running'"
                    ),
                    {"id": job.id, "token": job.claim_token},
                ).rowcount
            )

    def _end(self, job: Job, status: str, *, result: dict[str, Any] | None, error: str | None, done: int | None = None,
             total: int | None = None, failed: int | None = None) -> bool:  # fmt: skip
        sets = ["status = :status", "finished_at = :at", "result = :result", "error = :error", "current = NULL", "lease_until = NULL"]
        params: dict[str, Any] = {
            "id": job.id, "token": job.claim_token, "status": status, "at": now_iso(),
            "result": json.dumps(result, sort_keys=True) if result is not None else None, "error": error,
        }  # fmt: skip
        for col, value in (("done_count", done), ("total_count", total), ("failed_count", failed)):
            if value is not None:
                sets.append(f"{col} = :{col}")
                params[col] = value
        with self.store.write() as conn:
            return bool(
                conn.execute(
                    text(f"UPDATE job SET {', '.join(sets)} WHERE id = :id AND claim_token = :token AND status = 'running'"), params
                ).rowcount
            )
