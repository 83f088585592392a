"""The policy registry: the bundled policies and the folders of the policy path, by id.

A folder on the path (PRIORAUTH_POLICY_PATH, folders separated by `:`, or `--policy-path`)
holds policy folders; one there replaces the bundled policy of the same id, whole. Two
folders on the path claiming the same id is an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from priorauth.core._errors import ErrorCode, PolicyError, RequestError
from priorauth.core._policy.loader import load_policy_folder
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import POLICY_ID

POLICY_PATH_ENV = "PRIORAUTH_POLICY_PATH"
POLICY_FOLDER = re.compile(POLICY_ID)


def bundled_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "policies"


def _policy_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise PolicyError(f"{root}: a folder on the policy path does not exist")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


class PolicyRegistry:
    """Every policy by id: bundled, overridden by the policy path.

    Building a registry reads folder names only (and refuses two folders on the path that
    claim one id); a policy's files are read, validated and kept the first time it is asked
    for (`get`), so deciding a request loads only its own policy. Iterating, or `load_all`,
    loads every policy: a malformed file then fails loudly, naming the file, as it does as
    soon as its own policy is asked for.
    """

    def __init__(self, path: Iterable[str | Path] = (), include_bundled: bool = True) -> None:
        self.path = tuple(Path(p) for p in path)
        folders: dict[str, Path] = {}
        if include_bundled:
            for folder in _policy_folders(bundled_folder()):
                folders[folder.name] = folder
        claimed: dict[str, Path] = {}
        for root in self.path:
            for folder in _policy_folders(root):
                if folder.name in claimed:
                    raise PolicyError(
                        f"{folder}: policy {folder.name!r} is also in {claimed[folder.name]} on the policy path"
                    )
                claimed[folder.name] = folder
                folders[folder.name] = folder
        for folder in folders.values():
            if not POLICY_FOLDER.match(folder.name):
                raise PolicyError(f"{folder}: a policy folder is named by its id (lower case a-z, 0-9, _)")
        self._folders = dict(sorted(folders.items()))
        self._policies: dict[str, Policy] = {}
        self.overridden = frozenset(claimed)

    @classmethod
    def from_env(cls, extra: Iterable[str | Path] = ()) -> PolicyRegistry:
        """Bundled policies, then PRIORAUTH_POLICY_PATH, then `extra` (e.g. --policy-path)."""
        env = [p for p in os.environ.get(POLICY_PATH_ENV, "").split(os.pathsep) if p]
        return cls([*env, *extra])

    def ids(self) -> list[str]:
        return list(self._folders)

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self._folders

    def __iter__(self) -> Iterator[Policy]:
        return iter([self.get(policy_id) for policy_id in self._folders])

    def load_all(self) -> PolicyRegistry:
        """Read and validate every policy now (PolicyError naming the first malformed file)."""
        for policy_id in self._folders:
            self.get(policy_id)
        return self

    def get(self, policy_id: str) -> Policy:
        policy = self._policies.get(policy_id)
        if policy is None:
            folder = self._folders.get(policy_id)
            if folder is None:
                known = ", ".join(self._folders)
                raise RequestError("policy", f"unknown policy; known: {known}", ErrorCode.UNKNOWN_POLICY)
            policy = self._policies[policy_id] = load_policy_folder(folder)
        return policy


_active: PolicyRegistry | None = None


def policy_registry() -> PolicyRegistry:
    """The registry in use: set by `use_policy_path`, else bundled plus PRIORAUTH_POLICY_PATH (each policy
    loaded the first time it is asked for)."""
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
