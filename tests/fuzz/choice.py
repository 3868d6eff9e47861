"""One way to write an input generator, two sources of choices: Hypothesis or a seeded Random.

Generators take a :class:`Chooser`. Under Hypothesis (:class:`Drawing`) every choice is a draw,
so a failure shrinks to a small input. The long runs use :class:`Seeded`: Hypothesis draws only
a seed and the same generator builds a batch of inputs from it with ``random.Random``, which
is some fifty times faster; a failure then names the exact input that broke.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import random
from typing import Protocol, TypeVar

from hypothesis import strategies as st

from tests.fuzz.budget import CHECKED

T = TypeVar("T")
#: Inputs built from one seed in a long run's example (the deadline covers the whole batch).
BATCH = 50
#: Code points drawn for "any text": all planes, without surrogates (not encodable text).
_CODE_POINT_RANGES: tuple[tuple[int, int], ...] = (
    (0x20, 0x7E),
    (0xA0, 0x2FF),
    (0x370, 0x52F),
    (0x900, 0xDFF),
)
_CODE_POINT_RANGES += ((0x2000, 0x2BFF), (0x3000, 0x9FFF), (0xE000, 0xFFFF), (0x1F300, 0x1FAFF))


class Chooser(Protocol):
    """Where a generator gets its choices."""

    def integer(self, low: int, high: int) -> int:
        """Return an integer in [low, high]."""

    def binary(self, max_size: int) -> bytes:
        """Return 1 to max_size arbitrary bytes."""

    def text(self, alphabet: str | None, max_size: int) -> str:
        """Return up to max_size characters of alphabet (None: any character but surrogates)."""


def pick(chooser: Chooser, options: Sequence[T]) -> T:
    """Return one of options."""
    return options[chooser.integer(0, len(options) - 1)]


def chance(chooser: Chooser, one_in: int) -> bool:
    """Return True about once in one_in choices."""
    return chooser.integer(1, one_in) == 1


class Drawing:
    """Choices drawn by Hypothesis (shrinkable)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def binary(self, max_size: int) -> bytes:
        return self._draw(st.binary(min_size=1, max_size=max_size))

    def text(self, alphabet: str | None, max_size: int) -> str:
        chars = st.characters(exclude_categories=["Cs"]) if alphabet is None else alphabet
        return self._draw(st.text(chars, max_size=max_size))


class Seeded:
    """Choices from ``random.Random(seed)`` (fast; reproducible from the seed)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def binary(self, max_size: int) -> bytes:
        return self._random.randbytes(self._random.randint(1, max_size))

    def text(self, alphabet: str | None, max_size: int) -> str:
        size = self._random.randint(0, max_size)
        if alphabet is not None:
            return "".join(self._random.choices(alphabet, k=size))
        ranges = self._random.choices(_CODE_POINT_RANGES, k=size)
        return "".join(chr(self._random.randint(low, high)) for low, high in ranges)


def strategy(generate: Callable[[Chooser], T]) -> st.SearchStrategy[T]:
    """Return the Hypothesis strategy of a generator."""

    @st.composite
    def build(draw: st.DrawFn) -> T:
        return generate(Drawing(draw))

    return build()


def check_batch(
    name: str, generate: Callable[[Chooser], T], check: Callable[[T], None]
) -> Callable[[int], None]:
    """Return a property of a seed: check BATCH inputs the generator builds from it."""

    def check_seed(seed: int) -> None:
        chooser = Seeded(seed)
        for _ in range(BATCH):
            value = generate(chooser)
            try:
                check(value)
            except Exception as exc:
                raise AssertionError(f"{name}: {exc!r} on input {value!r}") from exc
        CHECKED[f"{name}-batches"] += 1

    return check_seed


SEEDS = st.integers(0, 2**64 - 1)
