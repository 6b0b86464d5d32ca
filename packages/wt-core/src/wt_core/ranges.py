"""Number ranges as declared types: a score threshold, an IoU, a fraction, an overlap, a ratio.

An option declares its range in its annotation (`conf: UnitInterval = 0.25`); the range is then
checked in one place, here, with one message (`--conf must be in [0, 1]; got 1.5`):

- on the command line by jsonargparse, which calls the type (`register` makes it a known type);
  the CLI turns its error into `error: --conf must be in [0, 1]; got 1.5 (<tool>, conf)`, exit 2;
- from Python by the `@command` wrapper (`check_arguments`) and by a section's `__post_init__`
  (`check_fields`), raising `BadInput`.

To a type checker each range is a plain float (so `conf: UnitInterval = 0.25` type-checks).
"""

from __future__ import annotations

import functools
import math
import numbers
import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from wt_core.errors import BadInput


class Range(float):
    """A float within [low, high] (an end is left out where `low_open` / `high_open`)."""

    low: float = 0.0
    high: float = 1.0
    low_open = False
    high_open = False

    def __new__(cls, value: Any) -> Range:
        number = float(value)
        if not cls.holds(number):
            raise ValueError(cls.refusal(value))
        return super().__new__(cls, number)

    @classmethod
    def holds(cls, number: float) -> bool:
        if math.isnan(number):
            return False
        above = cls.low < number if cls.low_open else cls.low <= number
        below = number < cls.high if cls.high_open else number <= cls.high
        return above and below

    @classmethod
    def interval(cls) -> str:
        if cls.high == math.inf:
            return f"> {cls.low:g}" if cls.low_open else f">= {cls.low:g}"
        return f"in {'(' if cls.low_open else '['}{cls.low:g}, {cls.high:g}{')' if cls.high_open else ']'}"

    @classmethod
    def refusal(cls, value: Any) -> str:
        """The one message of an out-of-range value (the option's name goes before it)."""
        return f"must be {cls.interval()}; got {value}"


if TYPE_CHECKING:
    UnitInterval = float
    PositiveUnit = float
    UnitBelowOne = float
    OpenUnit = float
    NonNegative = float
else:
    class UnitInterval(Range):
        """A number in [0, 1]: a score threshold, a fraction."""

    class PositiveUnit(Range):
        """A number in (0, 1]: an IoU threshold, a visible fraction."""

        low_open = True

    class UnitBelowOne(Range):
        """A number in [0, 1): an overlap between tiles, a dropout rate."""

        high_open = True

    class OpenUnit(Range):
        """A number in (0, 1): a held-out fraction."""

        low_open = high_open = True

    class NonNegative(Range):
        """A number >= 0: a ratio such as empty tiles per positive tile."""

        high = math.inf

RANGES: tuple[type[Range], ...] = (UnitInterval, PositiveUnit, UnitBelowOne, OpenUnit, NonNegative)  # type: ignore[assignment]


def _plain(cls: type[Range]) -> Callable[[Any], float]:
    return lambda value: float(cls(value))


def register() -> None:
    """Make the ranges types jsonargparse knows: it checks a value with the type and keeps a plain float
    (so configs, manifests and YAML see floats)."""
    from jsonargparse.typing import get_registered_type, register_type

    for cls in RANGES:
        if get_registered_type(cls) is None:
            register_type(cls, float, _plain(cls))


def ranges_in(hint: Any) -> list[type[Range]]:
    """The range types in an annotation (`UnitInterval`, `UnitInterval | None`, `list[PositiveUnit]` ...)."""
    if isinstance(hint, type) and issubclass(hint, Range):
        return [hint]
    return [r for arg in typing.get_args(hint) for r in ranges_in(arg)]


def _values(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | set):
        return value
    return [] if value is None else [value]


def check(value: Any, hint: Any, field: str) -> None:
    """Refuse a value (or any item of a list value) outside the range `hint` declares."""
    for cls in ranges_in(hint)[:1]:
        for v in _values(value):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not cls.holds(float(v)):
                raise BadInput(f"--{field} {cls.refusal(v)}", None, field)


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except (NameError, TypeError):
        return {}


@functools.cache
def ranged(obj: Callable[..., Any] | type) -> dict[str, Any]:
    """The parameters (or dataclass fields) of `obj` that declare a range, to their annotation."""
    return {k: h for k, h in _hints(obj).items() if k != "return" and ranges_in(h)}


def check_arguments(declared: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Check a call's arguments against `declared` (from `ranged(fn)`)."""
    for name, hint in declared.items():
        if name in arguments:
            check(arguments[name], hint, name)


def check_fields(section: Any, prefix: str = "") -> None:
    """Check a dataclass section's fields that declare a range (call from its `__post_init__`); `prefix`:
    the section's option name (`slicing` for `--slicing.overlap`; none for fields given as top-level options)."""
    for name, hint in ranged(section.__class__).items():
        check(getattr(section, name), hint, f"{prefix}.{name}" if prefix else name)
