"""What is derived from one policy version for deciding, built once and kept with it."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter

    from priorauth.core._criteria import CompiledCriteria
    from priorauth.core._policy.version import PolicyVersion
    from priorauth.core._relevance import Relevance


class PolicyRuntime:
    """The fact validator, compiled criteria, parameters, question relevance of one version.

    Lives on its `PolicyVersion` (`version.runtime`): a variant or another version never
    borrows another's; nothing is cached by policy id.
    """

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.question_ids = frozenset(q.id for q in version.questions)
        self.params: dict[str, Any] = {name: p.value for name, p in version.parameters.items()}
        self.defaults = tuple((q.id, q.default) for q in version.questions if q.default is not None)
        self.not_after = tuple((q.id, q.not_after) for q in version.questions if q.not_after is not None)
        self.version_text = version.version
        self.digest = version.digest
        self.decided_on = version.decided_on

    @cached_property
    def criteria(self) -> CompiledCriteria:
        from priorauth.core._criteria import CompiledCriteria

        return CompiledCriteria(self.version)

    @cached_property
    def facts_validator(self) -> TypeAdapter:
        from priorauth.core._facts import build_validator

        return build_validator(self.version)

    @cached_property
    def facts_model(self) -> type[BaseModel]:
        from priorauth.core._facts import build_facts_model

        return build_facts_model(self.version)

    @cached_property
    def relevance(self) -> dict[str, Relevance]:
        from priorauth.core._relevance import relevance_of

        return relevance_of(self.version)
