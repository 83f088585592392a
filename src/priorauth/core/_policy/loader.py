"""Load policy files: strict YAML (no duplicate keys), schema validation, the digest, clear errors.

A policy is a folder named by its id holding one complete YAML file per version, named by
the date it takes effect (docs/policy-files.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from priorauth.core._errors import PolicyError, field_name
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import POLICY_ID, PolicyVersion

VERSION_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.yaml$")


# libyaml's parser when PyYAML was built with it (several times faster: a policy file is read at
# a command-line start unless its validated form is cached); the pure-Python parser otherwise.
# Construction is Python in both. Made on first use: a start that finds its policy cached never
# imports yaml.
_LOADER: Any = None


def _strict_loader() -> Any:
    """A SafeLoader that refuses duplicate keys and leaves dates as text for the schema."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class StrictLoader(base):
            pass

        # Dates are validated by the schema, which names the path of a bad one.
        StrictLoader.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

        def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict:
            loader.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=deep)
                if key in mapping:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                mapping[key] = loader.construct_object(value_node, deep=deep)
            return mapping

        StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
        _LOADER = StrictLoader
    return _LOADER


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
    import yaml

    try:
        raw = yaml.load(text, Loader=_strict_loader())  # noqa: S506 - SafeLoader subclass
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


# --- the validated form of a version file, cached on disk -----------------------------------
#
# Reading a version file means parsing its YAML and validating it against the policy language
# (pydantic), most of a command-line start. The validated object is kept on disk, keyed by the
# SHA-256 of the file's bytes together with the code that validates it (the size and time of
# every module of the core, the priorauth, pydantic and Python versions): the same bytes under
# the same code validate to the same object. PRIORAUTH_CACHE_DIR names the folder (default:
# $XDG_CACHE_HOME/priorauth, else ~/.cache/priorauth); set it to `off` to read every file
# afresh. A cache entry that cannot be read is ignored; a folder that cannot be written is too.

CACHE_ENV = "PRIORAUTH_CACHE_DIR"
_CACHE_FORMAT = b"priorauth-policy-cache-1"
_code_fingerprint: bytes | None = None


def cache_folder() -> Path | None:
    named = os.environ.get(CACHE_ENV)
    if named is not None:
        return None if named.strip().lower() in ("", "off", "0", "no") else Path(named).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "priorauth"


def _fingerprint() -> bytes:
    """What the validated form depends on besides the file: the core's code and the library versions."""
    global _code_fingerprint
    if _code_fingerprint is None:
        import sys

        import pydantic

        parts = [_CACHE_FORMAT, pydantic.VERSION.encode(), sys.version.encode()]
        for folder, _, files in sorted(os.walk(Path(__file__).resolve().parents[1])):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(folder, name))
                    parts.append(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        _code_fingerprint = hashlib.sha256(b"\0".join(parts)).digest()
    return _code_fingerprint


def _cached(data: bytes, source: str) -> PolicyVersion | None:
    folder = cache_folder()
    if folder is None:
        return None
    key = hashlib.sha256(_fingerprint() + data).hexdigest()
    entry = folder / f"{key}.pickle"
    try:
        cls, state = pickle.loads(entry.read_bytes())  # noqa: S301 - our own entry, in the user's own folder
        if cls is not PolicyVersion:
            return None
        version = PolicyVersion.__new__(PolicyVersion)
        version.__setstate__(state)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - an unreadable entry is a miss
        return None
    version._source = source
    return version


def _cache(data: bytes, version: PolicyVersion) -> None:
    folder = cache_folder()
    if folder is None:
        return
    key = hashlib.sha256(_fingerprint() + data).hexdigest()
    # The validated content only: what is derived for deciding (`runtime`) is rebuilt when used.
    state = version.__getstate__()
    state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k != "runtime"}
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = folder / f"{key}.{os.getpid()}.tmp"
        partial.write_bytes(pickle.dumps((PolicyVersion, state), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, folder / f"{key}.pickle")
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return


def load_version_file(path: str | Path) -> PolicyVersion:
    """One version file; its name must be its effective date, its folder its id (when named so)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    version = _cached(data, str(path))
    if version is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PolicyError(f"{path}: (top level): not UTF-8 text") from None
        version = parse_policy_version(text, str(path))
        _cache(data, version)
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
