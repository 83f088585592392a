"""A policy: every version of one policy id, and the version in force on a day."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from priorauth.core._errors import ErrorCode, PolicyError, RequestError
from priorauth.core._policy.version import PolicyVersion


@dataclass(frozen=True, eq=False)
class Policy:
    """The versions of one policy, oldest first; each is complete on its own.

    `version_on(day)` is the one version lookup: the version in force on `day` is the
    latest whose effective date is not after it; it stays in force until the next one's.
    """

    id: str
    versions: tuple[PolicyVersion, ...]
    folder: str = ""
    _dates: tuple[dt.date, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise PolicyError(f"{self.folder or self.id}: a policy needs at least one version file")
        ordered = tuple(sorted(self.versions, key=lambda v: v.effective))
        for v in ordered:
            if v.id != self.id:
                raise PolicyError(f"{v.source}: id: {v.id!r} is not the policy's id {self.id!r}")
        dates = tuple(v.effective for v in ordered)
        if len(set(dates)) != len(dates):
            raise PolicyError(f"{self.folder or self.id}: two versions take effect on the same date")
        if len({v.decided_on for v in ordered}) != 1:
            raise PolicyError(f"{self.folder or self.id}: every version must decide on the same date fact")
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "_dates", dates)

    @classmethod
    def of(cls, versions: Sequence[PolicyVersion] | PolicyVersion, folder: str = "") -> Policy:
        listed = [versions] if isinstance(versions, PolicyVersion) else list(versions)
        return cls(listed[0].id if listed else "", tuple(listed), folder)

    @property
    def latest(self) -> PolicyVersion:
        return self.versions[-1]

    @property
    def first(self) -> PolicyVersion:
        return self.versions[0]

    @property
    def decided_on(self) -> str:
        return self.versions[0].decided_on

    def version_on(self, day: dt.date) -> PolicyVersion | None:
        """The version in force on `day`; None before the first."""
        i = bisect.bisect_right(self._dates, day)
        return self.versions[i - 1] if i else None

    def in_force(self, day: dt.date | None) -> PolicyVersion:
        """The version a request dated `day` is decided under (the latest when undated).

        RequestError (no_policy_version) names the date fact when `day` is before the first.
        """
        if day is None:
            return self.latest
        version = self.version_on(day)
        if version is None:
            raise RequestError(
                f"facts.{self.decided_on}",
                f"before the first version of policy {self.id} that this engine holds ({self._dates[0].isoformat()})",
                ErrorCode.NO_POLICY_VERSION,
            )
        return version

    def current(self, today: dt.date | None = None) -> PolicyVersion:
        """The version in force today (the first when none is yet): what a new request is asked."""
        return self.version_on(today or dt.date.today()) or self.first

    def by_digest(self, digest: str) -> PolicyVersion | None:
        return next((v for v in self.versions if v.digest == digest), None)

    def newer_than(self, version: PolicyVersion) -> tuple[PolicyVersion, ...]:
        """Versions taking effect after `version`."""
        return tuple(v for v in self.versions if v.effective > version.effective)
