"""The `priorauth` console entry: `priorauth evaluate FILE` answered without building the whole command line.

A script that decides requests one at a time calls `priorauth evaluate` once per request,
so its start is most of its cost. Importing Typer and building the tree of every command
group (`priorauth.cli`) is more than a third of that start, so `main` decides
`[--policy-path DIR]... evaluate FILE` itself, with the functions the `evaluate` command
runs (priorauth.one_request), and hands every other command line (`--explain`, `--help`,
any other command) to `priorauth.cli`.
"""

from __future__ import annotations

import sys

from priorauth.one_request import InputError, evaluate_request, prepare, print_json, read_request


def _evaluate_only(args: list[str]) -> tuple[list[str], str] | None:
    """(policy-path folders, source) when the command line is exactly `[--policy-path DIR]... evaluate SOURCE`."""
    paths: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("--policy-path"):
        if args[i] == "--policy-path" and i + 1 < len(args):
            paths.append(args[i + 1])
            i += 2
        elif args[i].startswith("--policy-path=") and len(args[i]) > len("--policy-path="):
            paths.append(args[i].split("=", 1)[1])
            i += 1
        else:
            return None
    rest = args[i:]
    if len(rest) == 2 and rest[0] == "evaluate" and (rest[1] == "-" or not rest[1].startswith("-")):
        return paths, rest[1]
    return None


def main() -> None:
    """The console entry (`priorauth`)."""
    quick = _evaluate_only(sys.argv[1:])
    if quick is None:
        from priorauth.cli import main as command_line

        command_line()
        return
    from priorauth.core import PriorAuthError

    paths, source = quick
    try:
        prepare(paths)
        det = evaluate_request(read_request(source))
    except (PriorAuthError, InputError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    print_json(det.to_dict())


if __name__ == "__main__":
    main()
