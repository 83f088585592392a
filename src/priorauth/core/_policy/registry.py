"""The policy registry: the bundled policies and the folders of the policy path, by id.

A folder on the path (PRIORAUTH_POLICY_PATH, folders separated by `:`, or `--policy-path`)
holds policy folders; one there replaces the bundled policy of the same id, whole. Two
folders on the path claiming the same id is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from priorauth.core._errors import ErrorCode, PolicyError, RequestError
from priorauth.core._policy.loader import load_policy_folder
from priorauth.core._policy.policy import Policy

POLICY_PATH_ENV = "PRIORAUTH_POLICY_PATH"


def bundled_folder() -> Path:
    return Path(str(resources.files("priorauth") / "policies"))


def _policy_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise PolicyError(f"{root}: a folder on the policy path does not exist")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


class PolicyRegistry:
    """Every policy by id: bundled, overridden by the policy path. Loaded once, validated whole."""

    def __init__(self, path: Iterable[str | Path] = (), include_bundled: bool = True) -> None:
        self.path = tuple(Path(p) for p in path)
        policies: dict[str, Policy] = {}
        if include_bundled:
            for folder in _policy_folders(bundled_folder()):
                policies[folder.name] = load_policy_folder(folder)
        claimed: dict[str, Path] = {}
        for root in self.path:
            for folder in _policy_folders(root):
                if folder.name in claimed:
                    raise PolicyError(
                        f"{folder}: policy {folder.name!r} is also in {claimed[folder.name]} on the policy path"
                    )
                claimed[folder.name] = folder
                policies[folder.name] = load_policy_folder(folder)
        self._policies = dict(sorted(policies.items()))
        self.overridden = frozenset(claimed)

    @classmethod
    def from_env(cls, extra: Iterable[str | Path] = ()) -> PolicyRegistry:
        """Bundled policies, then PRIORAUTH_POLICY_PATH, then `extra` (e.g. --policy-path)."""
        env = [p for p in os.environ.get(POLICY_PATH_ENV, "").split(os.pathsep) if p]
        return cls([*env, *extra])

    def ids(self) -> list[str]:
        return list(self._policies)

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self._policies

    def __iter__(self):
        return iter(self._policies.values())

    def get(self, policy_id: str) -> Policy:
        policy = self._policies.get(policy_id)
        if policy is None:
            known = ", ".join(self._policies)
            raise RequestError("policy", f"unknown policy; known: {known}", ErrorCode.UNKNOWN_POLICY)
        return policy


_active: PolicyRegistry | None = None


def policy_registry() -> PolicyRegistry:
    """The registry in use: set by `use_policy_path`, else bundled plus PRIORAUTH_POLICY_PATH (loaded once)."""
    global _active
    if _active is None:
        _active = PolicyRegistry.from_env()
    return _active


def use_policy_path(path: Iterable[str | Path] = ()) -> PolicyRegistry:
    """Load the registry from the bundled policies, PRIORAUTH_POLICY_PATH and `path`, and use it."""
    global _active
    _active = PolicyRegistry.from_env(path)
    return _active


def use_registry(registry: PolicyRegistry) -> PolicyRegistry:
    global _active
    _active = registry
    return registry


def load_policy(policy_id: str) -> Policy:
    """The policy `policy_id` from the registry in use."""
    return policy_registry().get(policy_id)


def policy_ids() -> list[str]:
    return policy_registry().ids()
