"""Section V: dose schedules per cycle, stop rules, response definitions, BSA rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from priorauth.core._policy.base import Strict


Positive = Annotated[Decimal, Field(gt=0)]
DosesPerM2 = dict[int, Positive]


class CycleOneDosing(Strict):
    section: str
    length_days: int = Field(gt=0)
    extended_length_days: int = Field(gt=0)
    extension_when: str
    doses_mg_per_m2: DosesPerM2


class DoseSchedule(Strict):
    doses_mg_per_m2: DosesPerM2


class LaterCyclesDosing(Strict):
    section: str
    length_days: int = Field(gt=0)
    cr_or_cri_achieved: DoseSchedule
    cr_or_cri_not_achieved: DoseSchedule


class SectionRule(Strict):
    """A Section V rule: its id, section, our text and the reading chosen, if any."""

    id: str
    section: str
    text: str
    reading: str | None = None


class NoResponseRule(SectionRule):
    within_cycles: int = Field(gt=0)


class HsctRule(SectionRule):
    cycles: int = Field(gt=0)
    extra_cycles: int = Field(ge=0)


class MaxCyclesRule(SectionRule):
    max_cycles: int = Field(gt=0)


class StopRules(Strict):
    no_response: NoResponseRule
    hsct: HsctRule
    no_hsct: MaxCyclesRule


class ResponseDefinitions(Strict):
    """CR and CRi thresholds; counts in `counts_unit`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    section: str
    marrow_blasts_below_percent: Positive
    platelets_recovered_at_least: Positive
    anc_recovered_at_least: Positive
    counts_unit: str
    cr: str = Field(alias="CR")
    cri: str = Field(alias="CRi")


class BsaRules(Strict):
    section: str
    default_method: Literal["mosteller", "dubois", "haycock"]
    decimals: int = Field(ge=0, le=4)
    reading: str


class Range(Strict):
    min: Positive
    max: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class PlausibleRanges(Strict):
    reading: str
    height_cm: Range
    weight_kg: Range
    bmi_kg_per_m2: Range
    bsa_m2: Range


class Dosing(Strict):
    """Section V: dose schedule per cycle, stop rules, response definitions."""

    section: str
    indication: str
    dose_days: list[int] = Field(min_length=1)
    cycle_1: CycleOneDosing
    subsequent_cycles: LaterCyclesDosing
    stop_rules: StopRules
    response_definitions: ResponseDefinitions
    bsa: BsaRules
    plausible_ranges: PlausibleRanges

    @model_validator(mode="after")
    def _schedules_use_dose_days(self) -> Dosing:
        if sorted(set(self.dose_days)) != self.dose_days or self.dose_days[0] < 1:
            raise ValueError("dose_days: expected increasing day numbers from 1")
        schedules = {
            "cycle_1": self.cycle_1.doses_mg_per_m2,
            "subsequent_cycles.cr_or_cri_achieved": self.subsequent_cycles.cr_or_cri_achieved.doses_mg_per_m2,
            "subsequent_cycles.cr_or_cri_not_achieved": self.subsequent_cycles.cr_or_cri_not_achieved.doses_mg_per_m2,
        }
        for name, doses in schedules.items():
            if sorted(doses) != self.dose_days:
                raise ValueError(f"{name}.doses_mg_per_m2: days must be exactly dose_days")
        c1 = self.cycle_1
        if self.dose_days[-1] > c1.length_days or c1.extended_length_days < c1.length_days:
            raise ValueError("cycle_1: dose days must fall within the cycle, and the extension must not shorten it")
        return self
