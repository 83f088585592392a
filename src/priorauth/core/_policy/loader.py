"""Load policy files: strict YAML (no duplicate keys), schema validation, the digest, clear errors.

A policy is a folder named by its id holding one complete YAML file per version, named by
the date it takes effect (docs/policy-files.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from priorauth.core._errors import PolicyError, field_name
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import POLICY_ID, PolicyVersion

VERSION_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.yaml$")


# libyaml's parser when PyYAML was built with it (several times faster: a policy file is read at
# every command-line start); the pure-Python parser otherwise. Construction is Python in both.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


class _StrictLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate keys and leaves dates as text for the schema."""


# Dates are validated by the schema, which names the path of a bad one.
_StrictLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_keys(value: Any) -> Any:
    """The parsed YAML as JSON sees it: mapping keys become text."""
    if isinstance(value, dict):
        return {str(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def canonical_json(raw: Any) -> str:
    """The canonical content of a version: JSON, sorted keys, no insignificant whitespace."""
    return json.dumps(_json_keys(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{source}: {where}: {problem}") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: (top level): expected a mapping")
    return raw


def version_from_content(raw: dict[str, Any], source: str) -> PolicyVersion:
    """A validated version from parsed content (a file's YAML, or stored canonical JSON)."""
    try:
        canonical = canonical_json(raw)
    except (TypeError, ValueError):
        raise PolicyError(f"{source}: (top level): content that JSON cannot hold") from None
    try:
        version = PolicyVersion.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyError(f"{source}: {field_name('', err['loc'])}: {msg}{more}") from None
    version._digest = content_digest(canonical)
    version._canonical = canonical
    version._source = source
    return version


def parse_policy_version(text: str, source: str) -> PolicyVersion:
    """Validate one version file's text; `source` names the file in error messages."""
    return version_from_content(_read_yaml(text, source), source)


def load_version_file(path: str | Path) -> PolicyVersion:
    """One version file; its name must be its effective date, its folder its id (when named so)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    version = parse_policy_version(text, str(path))
    if VERSION_FILE.match(path.name) and path.stem != version.version:
        raise PolicyError(f"{path}: effective: {version.version} is not the date in the file name")
    return version


def load_policy_folder(folder: str | Path) -> Policy:
    """Every version in a policy folder (`<id>/<YYYY-MM-DD>.yaml`)."""
    folder = Path(folder)
    if not re.match(POLICY_ID, folder.name):
        raise PolicyError(f"{folder}: a policy folder is named by its id (lower case a-z, 0-9, _)")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    for path in files:
        if not VERSION_FILE.match(path.name):
            raise PolicyError(f"{path}: a version file is named by its effective date (YYYY-MM-DD.yaml)")
    versions = [load_version_file(p) for p in files]
    for version, path in zip(versions, files, strict=True):
        if version.id != folder.name:
            raise PolicyError(f"{path}: id: {version.id!r} is not the folder's name {folder.name!r}")
    return Policy(folder.name, tuple(versions), str(folder))


def load_policy_file(path: str | Path) -> Policy:
    """A policy from one version file, or from a policy folder (every version in it)."""
    path = Path(path)
    if path.is_dir():
        return load_policy_folder(path)
    return Policy.of(load_version_file(path))
