"""UCUM conversions the criteria rely on (eligo.engine.units)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from eligo.engine.units import convert, parse
from eligo.errors import UnitConversionError

BILIRUBIN = Decimal("584.66")
CREATININE = Decimal("113.12")


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        # haemoglobin and albumin
        ("85", "g/L", "g/dL", "8.5"),
        ("90", "g/L", "g/dL", "9"),
        ("9.0", "g/dL", "g/L", "90"),
        ("2.5", "g/dL", "mg/dL", "2500"),
        ("25", "g/l", "g/dL", "2.5"),
        # cell counts
        ("1.5", "10*3/uL", "10*9/L", "1.5"),
        ("1.5", "10^3/uL", "10*9/L", "1.5"),
        ("1500", "/mm3", "10*9/L", "1.5"),
        ("1500", "/uL", "10*9/L", "1.5"),
        ("1500", "{cells}/uL", "10*9/L", "1.5"),
        ("100", "10*9/L", "10*3/uL", "100"),
        ("150000", "/mm3", "10*3/uL", "150"),
        ("1", "/mm3", "10*6/L", "1"),
        # percent, time, enzymes, flow, mass
        ("0.55", "1", "%", "55"),
        ("55", "%", "%", "55"),
        ("0.451", "s", "ms", "451"),
        ("450", "ms", "ms", "450"),
        ("40", "U/L", "U/L", "40"),
        ("0.04", "U/mL", "U/L", "40"),
        ("40", "[IU]/L", "U/L", "40"),
        ("40", "IU/L", "U/L", "40"),
        ("0.5", "mL/s", "mL/min", "30"),
        ("70", "kg", "kg", "70"),
        ("70000", "g", "kg", "70"),
        ("100", "[lb_av]", "kg", "45.359237"),
        # hormones stay in international units
        ("25", "m[IU]/mL", "[IU]/L", "25"),
    ],
)
def test_convert(value: str, from_unit: str, to_unit: str, expected: str) -> None:
    assert convert(Decimal(value), from_unit, to_unit) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "molar_mass", "expected"),
    [
        # bilirubin 584.66 g/mol: 1 mg/dL = 17.104 umol/L
        ("20.52", "umol/L", "mg/dL", BILIRUBIN, "1.19972232"),
        ("1", "mg/dL", "umol/L", BILIRUBIN, "17.103957855848"),
        # creatinine 113.12 g/mol: 1 mg/dL = 88.4 umol/L
        ("88.4", "umol/L", "mg/dL", CREATININE, "0.9999808"),
        ("1", "mg/dL", "umol/L", CREATININE, "88.401697312588"),
        ("0.0884", "mmol/L", "mg/dL", CREATININE, "0.9999808"),
    ],
)
def test_molar_conversions(
    value: str, from_unit: str, to_unit: str, molar_mass: Decimal, expected: str
) -> None:
    assert convert(Decimal(value), from_unit, to_unit, molar_mass=molar_mass) == Decimal(expected)


def test_results_are_plain_decimals() -> None:
    for result in (
        convert(Decimal("100"), "g/L", "g/L"),
        convert(Decimal("1"), "g/dL", "mg/dL"),
        convert(Decimal("1"), "mg/dL", "umol/L", molar_mass=BILIRUBIN),
    ):
        assert "E" not in str(result)


def test_boundaries_are_exact() -> None:
    # no binary floating point: 85 g/L is 8.5 g/dL exactly, below 9.0
    assert convert(Decimal("85"), "g/L", "g/dL") < Decimal("9.0")
    assert convert(Decimal("90"), "g/L", "g/dL") == Decimal("9.0")
    assert convert(Decimal("1400"), "/mm3", "10*9/L") < Decimal("1.5")


@pytest.mark.parametrize(
    ("from_unit", "to_unit"),
    [
        ("K/uL", "10*9/L"),  # not UCUM
        ("x10E9/L", "10*9/L"),  # not UCUM
        ("g/L", "10*9/L"),  # mass vs count
        ("%", "ms"),
        ("[IU]/L", "g/L"),  # an IU is not a mass
        ("[IU]/L", "10*9/L"),
        ("mg/dL", "umol/L"),  # needs a molar mass
        ("mg /dL", "g/L"),  # spaces are not UCUM
        ("g{/L", "g/L"),
        ("(g/L", "g/L"),
    ],
)
def test_unconvertible(from_unit: str, to_unit: str) -> None:
    with pytest.raises(UnitConversionError):
        convert(Decimal(1), from_unit, to_unit)


def test_identical_unknown_unit_is_still_rejected() -> None:
    with pytest.raises(UnitConversionError):
        convert(Decimal(1), "K/uL", "K/uL")


def test_parse_dimensions() -> None:
    factor, dim = parse("mL/min")
    assert abs(factor * 60 - Decimal("0.000001")) < Decimal("1e-30")
    assert dim == (0, 0, 3, -1, 0)
    assert parse("mm3") == (Decimal("1e-9"), (0, 0, 3, 0, 0))
    assert parse("") == (Decimal(1), (0, 0, 0, 0, 0))
