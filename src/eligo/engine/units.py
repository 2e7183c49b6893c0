"""UCUM unit conversion for the quantities the criteria compare.

Choice: a small explicit UCUM parser over a table of the atoms clinical
laboratories and the criteria use, rather than a dependency. ``pint`` does not
speak UCUM syntax (``10*9/L``, ``[lb_av]``, ``{cells}``); UCUM libraries on PyPI
are either unmaintained or pull in large grammars and XML essence files. The
units a trial needs are few and their factors are exact, so a table keeps the
behaviour visible and testable, and every conversion is done in ``Decimal``
(no binary floating point near a boundary such as 1.5 x ULN).

Supported grammar (a subset of UCUM, case-sensitive like UCUM):

- atoms: ``g``, ``mol``, ``L`` / ``l``, ``m``, ``s``, ``U`` (enzyme unit,
  umol/min), ``[IU]`` (also written ``IU``), ``min``, ``h``, ``d``, ``wk``,
  ``mo``, ``a``, ``[lb_av]``, ``[oz_av]``, ``%``, ``1``; the metric ones
  (``g mol L l m s U [IU]``) take the SI prefixes ``Y Z E P T G M k h da d c
  m u n p f a`` (``µ``/``μ`` are read as ``u``);
- powers of ten ``10*N`` and ``10^N``; plain integers as factors;
- exponents written after an atom (``mm3``, ``m2``, ``s-1``);
- ``.`` (multiply) and ``/`` (divide), left to right as in UCUM, a leading
  ``/`` (``/mm3``), and parentheses;
- annotations in braces are dimensionless, as UCUM defines them
  (``{cells}/uL`` == ``/uL``; ``{score}`` == ``1``).

Conversions between mass and amount of substance (``mg/dL`` <-> ``umol/L``)
need the analyte's molar mass in g/mol (``molar_mass=``), read by the engine
from ``eligo:molarMass`` on the analyte's grouping class.

International units: UCUM makes ``[IU]`` an arbitrary unit, because the
biological IU of a hormone or vitamin is defined per substance. The enzyme IU
is different: it is defined as 1 umol of substrate per minute, which is UCUM
``U``. Laboratories often label AST/ALT ``IU/L``. So ``[IU]`` is read as
``U`` exactly when the other side of the conversion is a catalytic activity
(mol/s dimension); ``[IU]`` to ``[IU]`` (hCG ``m[IU]/mL`` to ``[IU]/L``)
converts as usual, and ``[IU]`` to a mass or a count never does.

Anything else (non-UCUM spellings such as ``K/uL`` or ``x10E9/L``,
incompatible dimensions, a molar conversion without a molar mass) raises
:class:`eligo.errors.UnitConversionError`; the engine then records a unit
problem and the criterion reads the value as missing, never as guessed.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from functools import lru_cache

from eligo.errors import UnitConversionError

# Base dimensions: gram, mole, metre, second, arbitrary international unit.
_BASES = ("g", "mol", "m", "s", "[IU]")
_Dim = tuple[int, int, int, int, int]
_NONE: _Dim = (0, 0, 0, 0, 0)


def _dim(**exps: int) -> _Dim:
    return tuple(exps.get(b.strip("[]"), 0) for b in _BASES)  # type: ignore[return-value]


_MASS = _dim(g=1)
_AMOUNT = _dim(mol=1)
_CATALYTIC = _dim(mol=1, s=-1)

D = Decimal

# atom -> (factor to base units, dimension); metric atoms accept prefixes.
_METRIC: dict[str, tuple[Decimal, _Dim]] = {
    "g": (D(1), _MASS),
    "mol": (D(1), _AMOUNT),
    "m": (D(1), _dim(m=1)),
    "s": (D(1), _dim(s=1)),
    "L": (D("0.001"), _dim(m=3)),
    "l": (D("0.001"), _dim(m=3)),
    "U": (D("1e-6") / D(60), _CATALYTIC),  # 1 U = 1 umol/min
    "[IU]": (D(1), _dim(IU=1)),
}
_PLAIN: dict[str, tuple[Decimal, _Dim]] = {
    "min": (D(60), _dim(s=1)),
    "h": (D(3600), _dim(s=1)),
    "d": (D(86400), _dim(s=1)),
    "wk": (D(604800), _dim(s=1)),
    "mo": (D("2629800"), _dim(s=1)),  # UCUM mean Julian month, 30.4375 d
    "a": (D("31557600"), _dim(s=1)),  # UCUM Julian year, 365.25 d
    "[lb_av]": (D("453.59237"), _MASS),
    "[oz_av]": (D("28.349523125"), _MASS),
    "%": (D("0.01"), _NONE),
    "1": (D(1), _NONE),
}
_ALIASES = {"IU": "[IU]"}
_PREFIXES: dict[str, Decimal] = {
    "Y": D("1e24"),
    "Z": D("1e21"),
    "E": D("1e18"),
    "P": D("1e15"),
    "T": D("1e12"),
    "G": D("1e9"),
    "M": D("1e6"),
    "k": D("1e3"),
    "h": D("1e2"),
    "da": D("1e1"),
    "d": D("1e-1"),
    "c": D("1e-2"),
    "m": D("1e-3"),
    "u": D("1e-6"),
    "n": D("1e-9"),
    "p": D("1e-12"),
    "f": D("1e-15"),
    "a": D("1e-18"),
}

_POWER_OF_TEN = re.compile(r"^10[*^]([+-]?\d+)$")
_INTEGER = re.compile(r"^\d+$")
_ATOM_EXP = re.compile(r"^(.*?)([+-]?\d+)?$")


class _Unit:
    __slots__ = ("factor", "dim")

    def __init__(self, factor: Decimal, dim: _Dim) -> None:
        self.factor = factor
        self.dim = dim

    def times(self, other: _Unit, sign: int) -> _Unit:
        factor = self.factor * other.factor if sign > 0 else self.factor / other.factor
        return _Unit(factor, tuple(a + sign * b for a, b in zip(self.dim, other.dim, strict=True)))  # type: ignore[arg-type]

    def power(self, n: int) -> _Unit:
        return _Unit(self.factor**n, tuple(a * n for a in self.dim))  # type: ignore[arg-type]


def _atom(name: str, code: str) -> _Unit:
    name = _ALIASES.get(name, name)
    if name in _PLAIN:
        return _Unit(*_PLAIN[name])
    if name in _METRIC:
        return _Unit(*_METRIC[name])
    for plen in (2, 1):
        prefix, rest = name[:plen], name[plen:]
        rest = _ALIASES.get(rest, rest)
        if prefix in _PREFIXES and rest in _METRIC:
            factor, dim = _METRIC[rest]
            return _Unit(_PREFIXES[prefix] * factor, dim)
    raise UnitConversionError(f"{code!r} is not a UCUM unit eligo knows (unknown symbol {name!r})")


def _component(text: str, code: str) -> _Unit:
    if not text:
        raise UnitConversionError(f"{code!r} is not a valid UCUM unit (empty term)")
    if text.startswith("(") and text.endswith(")"):
        return _term(text[1:-1], code)
    # annotations are dimensionless; an atom may carry one ("g{total}")
    if "{" in text:
        stripped = re.sub(r"\{[^{}]*\}", "", text)
        if stripped == text or "{" in stripped or "}" in stripped:
            raise UnitConversionError(f"{code!r} has an unbalanced annotation")
        return _component(stripped, code) if stripped else _Unit(D(1), _NONE)
    m = _POWER_OF_TEN.match(text)
    if m:
        return _Unit(D(10) ** int(m.group(1)), _NONE)
    if _INTEGER.match(text):
        return _Unit(D(text), _NONE)
    m = _ATOM_EXP.match(text)
    assert m is not None  # the pattern matches any string
    name, exp = m.group(1), m.group(2)
    if not name:
        raise UnitConversionError(f"{code!r} is not a valid UCUM unit ({text!r})")
    unit = _atom(name, code)
    return unit.power(int(exp)) if exp is not None else unit


def _split(text: str, code: str) -> list[tuple[int, str]]:
    """Split a term on top-level ``.`` and ``/`` into (sign, component)."""
    parts: list[tuple[int, str]] = []
    depth_paren = depth_brace = 0
    sign, start = 1, 0
    if text.startswith("/"):
        sign, start = -1, 1
        parts.append((1, "1"))
    buf_start = start
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth_brace += 1
        elif ch == "}":
            depth_brace -= 1
        elif depth_brace == 0 and ch == "(":
            depth_paren += 1
        elif depth_brace == 0 and ch == ")":
            depth_paren -= 1
        elif depth_brace == 0 and depth_paren == 0 and ch in "./":
            parts.append((sign, text[buf_start:i]))
            sign = 1 if ch == "." else -1
            buf_start = i + 1
        if depth_brace < 0 or depth_paren < 0:
            raise UnitConversionError(f"{code!r} has unbalanced brackets")
    if depth_brace or depth_paren:
        raise UnitConversionError(f"{code!r} has unbalanced brackets")
    parts.append((sign, text[buf_start:]))
    return parts


def _term(text: str, code: str) -> _Unit:
    unit = _Unit(D(1), _NONE)
    for sign, comp in _split(text, code):
        unit = unit.times(_component(comp, code), sign)
    return unit


@lru_cache(maxsize=4096)  # pure; a population repeats a few dozen unit codes
def parse(code: str) -> tuple[Decimal, tuple[int, ...]]:
    """The factor to base units and the dimension vector of a UCUM code."""
    text = code.strip().replace("µ", "u").replace("μ", "u")
    if not text:
        return D(1), _NONE
    if any(ch.isspace() for ch in text):
        raise UnitConversionError(f"{code!r} is not a valid UCUM unit (contains a space)")
    with localcontext() as ctx:
        ctx.prec = 34
        u = _term(text, code)
    return u.factor, u.dim


_MAX_PLACES = 12  # decimal places kept after a conversion (far below any lab precision)


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, at most 12 decimals, never in exponent notation."""
    value = value.normalize()
    if value == 0:
        return D(0)
    _sign, _digits, exponent = value.as_tuple()
    if isinstance(exponent, int) and exponent < -_MAX_PLACES:
        value = value.quantize(D(1).scaleb(-_MAX_PLACES)).normalize()
        _sign, _digits, exponent = value.as_tuple()
    if isinstance(exponent, int) and exponent > 0:
        value = value.quantize(D(1))
    return value


def _iu_as_enzyme_unit(dim: tuple[int, ...]) -> tuple[int, ...]:
    """Read ``[IU]`` as ``U`` (umol/min): replace the IU exponent by mol/s."""
    g, mol, m, s, iu = dim
    return (g, mol + iu, m, s - iu, 0)


def _other_side_catalytic(d_from: tuple[int, ...], d_to: tuple[int, ...]) -> bool:
    """True when the non-IU side of an IU conversion is a catalytic quantity."""
    other = d_to if d_from[4] else d_from
    return other[1] != 0 and other[1] == -other[3]


def convert(value: Decimal, from_unit: str, to_unit: str, *, molar_mass: Decimal | None = None) -> Decimal:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` (UCUM codes).

    ``molar_mass`` (g/mol) allows mass <-> amount-of-substance conversions.
    Raises :class:`UnitConversionError` for anything that cannot be converted
    exactly by the rules in this module's docstring.
    """
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if from_unit.strip() == to_unit.strip():
        parse(from_unit)  # still reject codes that are not UCUM
        return _plain(value)
    f_from, d_from = parse(from_unit)
    f_to, d_to = parse(to_unit)
    with localcontext() as ctx:
        ctx.prec = 34
        if d_from != d_to and (d_from[4] or d_to[4]):
            # [IU] on one side only: the enzyme IU is U, if the other side is catalytic
            a, b = _iu_as_enzyme_unit(d_from), _iu_as_enzyme_unit(d_to)
            if a == b and _other_side_catalytic(d_from, d_to):
                factor_iu = _METRIC["U"][0]
                f_from = f_from * factor_iu ** d_from[4]
                f_to = f_to * factor_iu ** d_to[4]
                d_from, d_to = a, b
        if d_from == d_to:
            return _plain(value * f_from / f_to)
        diff = tuple(x - y for x, y in zip(d_from, d_to, strict=True))
        if diff in ((-1, 1, 0, 0, 0), (1, -1, 0, 0, 0)):
            if molar_mass is None or molar_mass <= 0:
                raise UnitConversionError(
                    f"converting {from_unit!r} to {to_unit!r} needs the analyte's molar mass"
                )
            mm = Decimal(str(molar_mass))
            if diff == (-1, 1, 0, 0, 0):  # from has mol where to has g
                return _plain(value * f_from * mm / f_to)
            return _plain(value * f_from / mm / f_to)
    raise UnitConversionError(f"{from_unit!r} and {to_unit!r} measure different kinds of quantity")


__all__ = ["convert", "parse"]
