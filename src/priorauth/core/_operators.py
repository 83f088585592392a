"""The leaf operators of the criteria tree, each defined once: its argument, the facts it
reads, its cross-reference checks, its three-valued test, its witnesses and its inline code.

Adding an operator is a class here and an entry in OPERATORS (and its test).

- `test(facts, params) -> Truth` decides the leaf; an absent fact is unknown.
- `witnesses(fact, facts, params, ref)` gives values of an unknown fact that move the leaf
  both ways, relative to the known facts: the residual (missing facts) enumerates them.
- `inline(...)` gives a Python expression for the generated evaluator, or None to call
  `test` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta

from priorauth.core._dates import ONE_DAY, months_after
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth

if TYPE_CHECKING:
    from priorauth.core._policy.version import PolicyVersion

Facts = dict[str, Any]
Params = dict[str, Any]
LeafTest = Callable[[Facts, Params], Truth]
Witnesses = Callable[[str, Facts, Params, dt.date], list[Any]]


@dataclass(frozen=True, slots=True)
class Inline:
    """An inline expression for the generated evaluator, and lines it needs once before it."""

    expression: str
    preamble: tuple[tuple[str, str], ...] = ()  # (name, line): each name emitted once
    constants: tuple[tuple[str, Any], ...] = ()  # (name, value) put in the namespace


class LeafOperator:
    name: str = ""

    def parse(self, argument: Any) -> Any:
        """The validated argument; ValueError naming the problem."""
        raise NotImplementedError

    def reads(self, argument: Any, version: PolicyVersion) -> tuple[str, ...]:
        raise NotImplementedError

    def problems(self, argument: Any, version: PolicyVersion) -> Iterator[str]:
        """Cross-reference problems beyond undeclared facts (checked for every operator)."""
        return iter(())

    def compile(self, argument: Any, version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        raise NotImplementedError

    def inline(self, argument: Any, local: dict[str, str], version: PolicyVersion, key: str) -> Inline | None:
        return None


def _single_fact(argument: Any, what: str) -> tuple[str, Any]:
    if not isinstance(argument, dict) or len(argument) != 1:
        raise ValueError(f"takes exactly one fact: {{fact: {what}}}")
    ((fact, value),) = argument.items()
    if not isinstance(fact, str):
        raise ValueError("a fact id is text")
    return fact, value


def _spec(argument: Any, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(argument, dict):
        raise ValueError(f"expected a mapping with {', '.join(sorted(required))}")
    keys = set(argument)
    if not required <= keys or not keys <= required | optional:
        wanted = sorted(required) + [f"optional {k}" for k in sorted(optional)]
        raise ValueError(f"takes {', '.join(wanted)}; found {', '.join(sorted(map(str, keys))) or 'nothing'}")
    return dict(argument)


def _choice_problems(version: PolicyVersion, fact: str, values: list[Any]) -> Iterator[str]:
    question = version.questions_by_id.get(fact)
    if question is None:
        return
    if question.type == "choice":
        for v in values:
            if v not in (question.values or []):
                yield f"value {v!r} is not one of the values of {fact!r}"
    if question.type == "boolean":
        for v in values:
            if not isinstance(v, bool):
                yield f"{fact!r} is boolean; {v!r} is not true or false"


class _FactValue(LeafOperator):
    """An operator on one fact and one value of it (`{fact: value}`)."""

    def parse(self, argument: Any) -> tuple[str, Any]:
        return _single_fact(argument, "value")

    def reads(self, argument: tuple[str, Any], version: PolicyVersion) -> tuple[str, ...]:
        return (argument[0],)

    def problems(self, argument: tuple[str, Any], version: PolicyVersion) -> Iterator[str]:
        return _choice_problems(version, argument[0], [argument[1]])


class Equals(_FactValue):
    """`equals: {fact: value}`: met when the fact has that value."""

    name = "equals"

    def compile(self, argument: tuple[str, Any], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, expected = argument

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            return MET if value == expected else NOT_MET

        return test, None

    def inline(self, argument: tuple[str, Any], local: dict[str, str], version: PolicyVersion, key: str):
        fact, expected = argument
        v = local[fact]
        if isinstance(expected, bool):
            return Inline(f"U if {v} is None else (M if {v} is {expected!r} else F)")
        if isinstance(expected, int | str):
            return Inline(f"U if {v} is None else (M if {v} == {expected!r} else F)")
        return Inline(f"U if {v} is None else (M if {v} == {key} else F)", constants=((key, expected),))


class NotStated(_FactValue):
    """`not_stated: {fact: value}`: met unless the fact is stated with that value.

    For a fact that can only contradict a choice made by another fact (rituximab added to a
    "single agent" regimen): an absent fact contradicts nothing, so the leaf is never unknown
    and never asks for its fact.
    """

    name = "not_stated"

    def compile(self, argument: tuple[str, Any], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, stated = argument

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            return NOT_MET if value is not None and value == stated else MET

        return test, None

    def inline(self, argument: tuple[str, Any], local: dict[str, str], version: PolicyVersion, key: str):
        fact, stated = argument
        v = local[fact]
        if isinstance(stated, bool):
            return Inline(f"F if {v} is {stated!r} else M")
        return Inline(f"F if {v} is not None and {v} == {key} else M", constants=((key, stated),))


class In(LeafOperator):
    """`in: {fact: [values]}`: met when the fact has one of the values."""

    name = "in"

    def parse(self, argument: Any) -> tuple[str, tuple[Any, ...]]:
        fact, values = _single_fact(argument, "[values]")
        if not isinstance(values, list) or not values:
            raise ValueError("takes a non-empty list of values")
        return fact, tuple(values)

    def reads(self, argument: tuple[str, Any], version: PolicyVersion) -> tuple[str, ...]:
        return (argument[0],)

    def problems(self, argument: tuple[str, Any], version: PolicyVersion) -> Iterator[str]:
        return _choice_problems(version, argument[0], list(argument[1]))

    def compile(self, argument: tuple[str, Any], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, expected = argument
        allowed = frozenset(expected)

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            return MET if value in allowed else NOT_MET

        return test, None

    def inline(self, argument: tuple[str, Any], local: dict[str, str], version: PolicyVersion, key: str):
        v = local[argument[0]]
        return Inline(f"U if {v} is None else (M if {v} in {key} else F)", constants=((key, frozenset(argument[1])),))


@dataclass(frozen=True, slots=True)
class AgeSpec:
    fact: str
    months: int  # an age in years is 12 x years months: reached on the same birthday rule

    @property
    def whole_years(self) -> int | None:
        return self.months // 12 if self.months % 12 == 0 else None


class _Age(LeafOperator):
    """`age_at_least` / `age_below: {fact: birth_date, years: N}` (or `months: N`), on the decision date."""

    at_least = True

    def parse(self, argument: Any) -> AgeSpec:
        spec = _spec(argument, {"fact"}, {"years", "months"})
        units = [k for k in ("years", "months") if k in spec]
        if len(units) != 1:
            raise ValueError("takes `fact` and one of `years` or `months`")
        n = spec[units[0]]
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"`{units[0]}` is a whole number of 0 or more")
        return AgeSpec(spec["fact"], n * 12 if units[0] == "years" else n)

    def reads(self, argument: AgeSpec, version: PolicyVersion) -> tuple[str, ...]:
        return (argument.fact, version.decided_on)

    def problems(self, argument: AgeSpec, version: PolicyVersion) -> Iterator[str]:
        question = version.questions_by_id.get(argument.fact)
        if question is not None and question.type != "date":
            yield f"{argument.fact!r} is not a date question"

    def compile(self, argument: AgeSpec, version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        birth_fact, on_fact, months, at_least = argument.fact, version.decided_on, argument.months, self.at_least

        def test(facts: Facts, params: Params) -> Truth:
            birth = facts.get(birth_fact)
            day = facts.get(on_fact)
            if birth is None or day is None:
                return UNKNOWN
            return MET if (months_after(birth, months) <= day) is at_least else NOT_MET

        def witnesses(fact: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            if fact == birth_fact:
                day = facts.get(on_fact, ref)
                boundary = day - relativedelta(months=months)
                return [boundary - 3 * ONE_DAY, boundary + 3 * ONE_DAY]
            birth = facts.get(birth_fact)
            if birth is None:
                return [ref]
            reached = months_after(birth, months)
            return [reached, reached - ONE_DAY]

        return test, witnesses

    def inline(self, argument: AgeSpec, local: dict[str, str], version: PolicyVersion, key: str):
        years = argument.whole_years
        if years is None:
            return None
        b, d = local[argument.fact], local[version.decided_on]
        age = f"age_{b}_{d}"
        line = (f"{age} = None if {b} is None or {d} is None else "
                f"{d}.year - {b}.year - (({d}.month, {d}.day) < ({b}.month, {b}.day))")
        cmp = ">=" if self.at_least else "<"
        return Inline(f"U if {age} is None else (M if {age} {cmp} {years} else F)", preamble=((age, line),))


class AgeAtLeast(_Age):
    name = "age_at_least"
    at_least = True


class AgeBelow(_Age):
    name = "age_below"
    at_least = False


UNCOVERED_ICD10 = "Z00.00"


class CodesIn(LeafOperator):
    """`codes_in: {fact: code_list}`: met when any code of the fact is on the policy's list."""

    name = "codes_in"

    def parse(self, argument: Any) -> tuple[str, str]:
        fact, list_name = _single_fact(argument, "code_list_name")
        if not isinstance(list_name, str):
            raise ValueError("names a code list of `code_lists`")
        return fact, list_name

    def reads(self, argument: tuple[str, str], version: PolicyVersion) -> tuple[str, ...]:
        return (argument[0],)

    def problems(self, argument: tuple[str, str], version: PolicyVersion) -> Iterator[str]:
        fact, list_name = argument
        if list_name not in version.code_lists:
            yield f"unknown code list {list_name!r}"
        question = version.questions_by_id.get(fact)
        if question is not None and question.type != "code_list":
            yield f"{fact!r} is not a code_list question"

    def compile(self, argument: tuple[str, str], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, list_name = argument
        codes = frozenset(version.code_lists[list_name].codes)

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            return NOT_MET if codes.isdisjoint(value) else MET

        sample = sorted(codes)[0]

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            return [[sample], [UNCOVERED_ICD10]]

        return test, witnesses

    def inline(self, argument: tuple[str, str], local: dict[str, str], version: PolicyVersion, key: str):
        fact, list_name = argument
        codes = frozenset(version.code_lists[list_name].codes)
        v = local[fact]
        return Inline(f"U if {v} is None else (F if {key}.isdisjoint({v}) else M)", constants=((key, codes),))


def _parameter_problems(argument: dict[str, str], version: PolicyVersion) -> Iterator[str]:
    if argument["parameter"] not in version.parameters:
        yield f"unknown parameter {argument['parameter']!r}"


class WithinMonths(LeafOperator):
    """`within_months: {fact: a date, parameter: months}`: the decision date falls in the
    period of that many months starting on the fact's date."""

    name = "within_months"

    def parse(self, argument: Any) -> dict[str, str]:
        return _spec(argument, {"fact", "parameter"})

    def reads(self, argument: dict[str, str], version: PolicyVersion) -> tuple[str, ...]:
        return (argument["fact"], version.decided_on)

    def problems(self, argument: dict[str, str], version: PolicyVersion) -> Iterator[str]:
        return _parameter_problems(argument, version)

    def compile(self, argument: dict[str, str], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, parameter, on_fact = argument["fact"], argument["parameter"], version.decided_on

        def test(facts: Facts, params: Params) -> Truth:
            start = facts.get(fact)
            day = facts.get(on_fact)
            if start is None or day is None:
                return UNKNOWN
            return MET if start <= day < months_after(start, params[parameter]) else NOT_MET

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            months = params[parameter]
            if f == fact:
                day = facts.get(on_fact, ref)
                return [day, day - relativedelta(months=+months)]
            start = facts.get(fact)
            if start is None:
                return [ref]
            return [start, months_after(start, months)]

        return test, witnesses


class BelowParameter(LeafOperator):
    """`below_parameter: {fact: a number, parameter: limit}`: the fact is below the parameter."""

    name = "below_parameter"

    def parse(self, argument: Any) -> dict[str, str]:
        return _spec(argument, {"fact", "parameter"})

    def reads(self, argument: dict[str, str], version: PolicyVersion) -> tuple[str, ...]:
        return (argument["fact"],)

    def problems(self, argument: dict[str, str], version: PolicyVersion) -> Iterator[str]:
        return _parameter_problems(argument, version)

    def compile(self, argument: dict[str, str], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, parameter = argument["fact"], argument["parameter"]

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            return MET if value < params[parameter] else NOT_MET

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            limit = params[parameter]
            return [max(limit - 1, 0), limit]

        return test, witnesses

    def inline(self, argument: dict[str, str], local: dict[str, str], version: PolicyVersion, key: str):
        v = local[argument["fact"]]
        return Inline(f"U if {v} is None else (M if {v} < params[{argument['parameter']!r}] else F)")


class AtLeast(LeafOperator):
    """`at_least: {fact: a number, value: threshold}`: the fact is the threshold or more."""

    name = "at_least"

    def parse(self, argument: Any) -> dict[str, Any]:
        spec = _spec(argument, {"fact", "value"})
        if isinstance(spec["value"], bool) or not isinstance(spec["value"], int | float):
            raise ValueError("`value` is a number")
        return spec

    def reads(self, argument: dict[str, Any], version: PolicyVersion) -> tuple[str, ...]:
        return (argument["fact"],)

    def problems(self, argument: dict[str, Any], version: PolicyVersion) -> Iterator[str]:
        question = version.questions_by_id.get(argument["fact"])
        if question is not None and question.type not in ("integer", "number"):
            yield f"{argument['fact']!r} is not a number question"

    def compile(self, argument: dict[str, Any], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, threshold = argument["fact"], argument["value"]

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            return MET if value >= threshold else NOT_MET

        question = version.questions_by_id.get(fact)
        integer = question is not None and question.type == "integer"
        below = threshold - 1 if integer or threshold <= 0 else threshold / 2
        floor = question.minimum if question is not None else None
        values = [threshold] if floor is not None and below < floor else [threshold, below]

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            return values

        return test, witnesses

    def inline(self, argument: dict[str, Any], local: dict[str, str], version: PolicyVersion, key: str):
        v = local[argument["fact"]]
        return Inline(f"U if {v} is None else (M if {v} >= {argument['value']!r} else F)")


class PeriodNotOver(LeafOperator):
    """`period_not_over: {fact: a date, parameter: months}`: the decision date is on or before the
    last day of the period of that many months starting on the fact's date (contract section 4).

    Unlike `within_months`, a decision date before the fact's date also meets it: only the end
    of the period is tested (a course of treatment that has not run out).
    """

    name = "period_not_over"

    def parse(self, argument: Any) -> dict[str, str]:
        return _spec(argument, {"fact", "parameter"})

    def reads(self, argument: dict[str, str], version: PolicyVersion) -> tuple[str, ...]:
        return (argument["fact"], version.decided_on)

    def problems(self, argument: dict[str, str], version: PolicyVersion) -> Iterator[str]:
        yield from _parameter_problems(argument, version)
        question = version.questions_by_id.get(argument["fact"])
        if question is not None and question.type != "date":
            yield f"{argument['fact']!r} is not a date question"
        value = version.parameters.get(argument["parameter"])
        if value is not None and (isinstance(value.value, bool) or not isinstance(value.value, int)):
            yield f"parameter {argument['parameter']!r} is not a whole number of months"

    def compile(self, argument: dict[str, str], version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, parameter, on_fact = argument["fact"], argument["parameter"], version.decided_on

        def test(facts: Facts, params: Params) -> Truth:
            start = facts.get(fact)
            day = facts.get(on_fact)
            if start is None or day is None:
                return UNKNOWN
            return MET if day < months_after(start, params[parameter]) else NOT_MET

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            months = params[parameter]
            if f == fact:
                day = facts.get(on_fact, ref)
                # Starting on the decision date: not over. Starting the same date `months` earlier
                # (clipped to the month's end, so never later): over on the decision date.
                return [day, day - relativedelta(months=+months)]
            start = facts.get(fact)
            if start is None:
                return [ref]
            end = months_after(start, months)
            return [end - ONE_DAY, end]

        return test, witnesses


@dataclass(frozen=True, slots=True)
class RangeSpec:
    fact: str
    at_least: int | float | None
    at_most: int | float | None


def _bound(spec: dict[str, Any], key: str) -> int | float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"`{key}` is a number")
    return value


class Between(LeafOperator):
    """`between: {fact: a number, at_least: low, at_most: high}`: low <= fact <= high (both
    inclusive); one bound may be left out (`at_most` alone: the fact is at most high)."""

    name = "between"

    def parse(self, argument: Any) -> RangeSpec:
        spec = _spec(argument, {"fact"}, {"at_least", "at_most"})
        low, high = _bound(spec, "at_least"), _bound(spec, "at_most")
        if low is None and high is None:
            raise ValueError("takes `fact` and at least one of `at_least`, `at_most`")
        if low is not None and high is not None and low > high:
            raise ValueError("`at_least` is above `at_most`")
        if not isinstance(spec["fact"], str):
            raise ValueError("a fact id is text")
        return RangeSpec(spec["fact"], low, high)

    def reads(self, argument: RangeSpec, version: PolicyVersion) -> tuple[str, ...]:
        return (argument.fact,)

    def problems(self, argument: RangeSpec, version: PolicyVersion) -> Iterator[str]:
        question = version.questions_by_id.get(argument.fact)
        if question is None:
            return
        if question.type not in ("integer", "number"):
            yield f"{argument.fact!r} is not a number question"
            return
        values = [v for v in (argument.at_least, argument.at_most) if v is not None]
        if question.minimum is not None and any(v < question.minimum for v in values):
            yield f"a bound is below the smallest value of {argument.fact!r}"
        if question.maximum is not None and any(v > question.maximum for v in values):
            yield f"a bound is above the largest value of {argument.fact!r}"
        if question.type == "integer" and any(isinstance(v, float) and not v.is_integer() for v in values):
            yield f"{argument.fact!r} is a whole number; a bound is not"

    def compile(self, argument: RangeSpec, version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        fact, low, high = argument.fact, argument.at_least, argument.at_most

        def test(facts: Facts, params: Params) -> Truth:
            value = facts.get(fact)
            if value is None:
                return UNKNOWN
            if low is not None and value < low:
                return NOT_MET
            return NOT_MET if high is not None and value > high else MET

        values = _range_witnesses(version.questions_by_id.get(fact), low, high)

        def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
            return values

        return test, witnesses

    def inline(self, argument: RangeSpec, local: dict[str, str], version: PolicyVersion, key: str):
        v = local[argument.fact]
        tests = []
        if argument.at_least is not None:
            tests.append(f"{v} >= {argument.at_least!r}")
        if argument.at_most is not None:
            tests.append(f"{v} <= {argument.at_most!r}")
        return Inline(f"U if {v} is None else (M if {' and '.join(tests)} else F)")


def _range_witnesses(question: Any, low: float | None, high: float | None) -> list[Any]:
    """Values inside the range and on each side of it that the question allows."""
    integer = question is not None and question.type == "integer"
    floor = question.minimum if question is not None else None
    ceiling = question.maximum if question is not None else None
    step = 1 if integer else None
    inside = low if low is not None else high
    out: list[Any] = [inside]
    if low is not None:
        below = low - 1 if step else (low / 2 if low > 0 else low - 1)
        if floor is None or below >= floor:
            out.append(int(below) if integer else below)
    if high is not None:
        if step:
            above: float | None = high + 1
        elif ceiling is None:
            above = high + 1 if high >= 0 else high / 2
        else:
            above = (high + ceiling) / 2 if high < ceiling else None
        if above is not None and (ceiling is None or above <= ceiling):
            out.append(int(above) if integer else above)
    return out


class Todo(LeafOperator):
    """`todo: "the document's wording"`: a criterion not yet written as a rule (a draft's skeleton).

    It reads no fact and is always unknown, so a version holding one pends rather than decides
    wherever the criterion matters; `priorauth policy diff` lists every one.
    """

    name = "todo"

    def parse(self, argument: Any) -> str:
        if not isinstance(argument, str) or not argument.strip():
            raise ValueError("takes the wording of the criterion to write, as text")
        return argument

    def reads(self, argument: str, version: PolicyVersion) -> tuple[str, ...]:
        return ()

    def compile(self, argument: str, version: PolicyVersion) -> tuple[LeafTest, Witnesses | None]:
        def test(facts: Facts, params: Params) -> Truth:
            return UNKNOWN

        return test, None

    def inline(self, argument: str, local: dict[str, str], version: PolicyVersion, key: str) -> Inline:
        return Inline("U")


OPERATORS: dict[str, LeafOperator] = {
    op.name: op
    for op in (Equals(), NotStated(), In(), AgeAtLeast(), AgeBelow(), CodesIn(), WithinMonths(), BelowParameter(),
               AtLeast(), PeriodNotOver(), Between(), Todo())
}
COMPOSITE_OPERATORS = ("all", "any", "not")
