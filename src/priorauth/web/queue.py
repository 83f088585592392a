"""The reviewer's queue: query-string filters -> `service.list_requests` -> table rows.

Filters and sort orders the service layer does not offer are not shown rather than
emulated here: the pages read requests only through the service (one core, many doors).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from priorauth import service
from priorauth.web.views import status_text, time_left

PAGE_SIZES = (25, 50, 100)
# A status choice of the queue that is several service statuses.
OPEN = "open"
OPEN_LABEL = "Open (pended or awaiting review)"
DEFAULT_SIZE = 50
# (value, label): the service's sort orders (`service.SORTS`), each with ties broken by id.
SORTS = (
    ("due", "Due time, soonest first"),
    ("-due", "Due time, latest first"),
    ("created", "Received, oldest first"),
    ("-created", "Received, newest first"),
    ("urgency", "Expedited first"),
    ("status", "Status"),
)


def _service_fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def supported_sorts() -> tuple[tuple[str, str], ...]:
    if "sort" in _service_fields(service.RequestFilters) or "sort" in _service_fields(service.Page):
        return SORTS
    return SORTS[:1]


def urgency_filter_supported() -> bool:
    return "urgency" in _service_fields(service.RequestFilters)


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """The queue's query string, checked: unknown values fall back to 'any'."""

    status: str | None = None
    urgency: str | None = None
    policy: str | None = None
    submitter: str | None = None
    due: str | None = None  # overdue
    member_id: str | None = None  # patient search (PHI: the access log drops query strings)
    name: str | None = None
    sort: str = "due"
    page: int = 1
    size: int = DEFAULT_SIZE

    @classmethod
    def parse(cls, params: Mapping[str, Any], policies: list[str]) -> QueueQuery:
        def pick(name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
            value = (params.get(name) or "").strip()
            return value if value in allowed else None

        def number(name: str, default: int) -> int:
            try:
                return int(params.get(name) or default)
            except ValueError:
                return default

        size = number("size", DEFAULT_SIZE)
        submitter = (params.get("submitter") or "").strip()[:100] or None
        member_id = (params.get("member_id") or "").strip()[:64] or None
        name = " ".join((params.get("name") or "").split())[:200] or None
        return cls(
            status=pick("status", (OPEN, *service.STATUSES)),
            urgency=pick("urgency", service.URGENCIES) if urgency_filter_supported() else None,
            policy=pick("policy", policies),
            submitter=submitter,
            due=pick("due", ("overdue",)),
            member_id=member_id,
            name=name,
            sort=pick("sort", tuple(v for v, _ in supported_sorts())) or "due",
            page=max(1, number("page", 1)),
            size=size if size in PAGE_SIZES else DEFAULT_SIZE,
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query string of this query with `changes`, defaults left out."""
        values = {**dataclasses.asdict(self), **changes}
        defaults = dataclasses.asdict(QueueQuery())
        return {k: v for k, v in values.items() if v is not None and v != defaults[k]}

    def url(self, base: str, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{base}?{query}" if query else base

    def filters(self, now: dt.datetime, role: str) -> service.RequestFilters:
        status = service.OPEN_STATUSES if self.status == OPEN else self.status
        kwargs: dict[str, Any] = {"status": status, "policy": self.policy, "member_id": self.member_id,
                                  "name": self.name}
        if role != "submitter":
            kwargs["submitter"] = self.submitter
        if self.due == "overdue":
            kwargs["overdue"] = True
        if self.urgency is not None:
            kwargs["urgency"] = self.urgency
        if self.sort != "due" and "sort" in _service_fields(service.RequestFilters):
            kwargs["sort"] = self.sort
        return service.RequestFilters(**kwargs)

    def page_spec(self) -> service.Page:
        kwargs: dict[str, Any] = {"limit": self.size, "offset": (self.page - 1) * self.size}
        if self.sort != "due" and "sort" in _service_fields(service.Page):
            kwargs["sort"] = self.sort
        return service.Page(**kwargs)


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: str
    status: str
    status_text: str
    urgency: str
    time_left: str
    overdue: bool
    policy: str
    submitter: str
    created_iso: str
    created_text: str
    patient: str = ""
    member_id: str = ""
    drug: str = ""
    prescriber: str = ""
    prescriber_npi: str = ""

    @property
    def created_date(self) -> str:
        return self.created_text.split(" ")[0]

    @property
    def created_time(self) -> str:
        return self.created_text.partition(" ")[2]


@dataclass(frozen=True, slots=True)
class QueueResult:
    total: int
    first: int
    last: int
    pages: int
    prev_url: str | None
    next_url: str | None


def format_when(moment: dt.datetime) -> str:
    """`2026-03-02 14:05 UTC`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def queue_rows(items: list[Any], now: dt.datetime) -> list[QueueRow]:
    rows = []
    for r in items:
        left, overdue = time_left(r.due_at, now, closed=r.final)
        rows.append(
            QueueRow(
                id=r.id,
                status=r.status,
                status_text=status_text(r.status),
                urgency=r.urgency,
                time_left=left,
                overdue=overdue,
                policy=r.policy,
                submitter=r.submitter_org,
                created_iso=r.created_at.isoformat(),
                created_text=r.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                patient=(r.patient or {}).get("name", ""),
                member_id=(r.patient or {}).get("member_id", ""),
                drug=r.decided_under.drug if r.decided_under is not None else r.policy,
                prescriber=(r.prescriber or {}).get("name", ""),
                prescriber_npi=(r.prescriber or {}).get("npi", ""),
            )
        )
    return rows


def queue_result(query: QueueQuery, total: int, shown: int, base: str) -> QueueResult:
    pages = max(1, -(-total // query.size))
    first = (query.page - 1) * query.size + 1 if shown else 0
    return QueueResult(
        total=total,
        first=first,
        last=first + shown - 1 if shown else 0,
        pages=pages,
        prev_url=query.url(base, page=query.page - 1) if query.page > 1 else None,
        next_url=query.url(base, page=query.page + 1) if query.page < pages else None,
    )
