"""Reading one TOML table for ``gsmgw.config``: typed getters naming the key path, unknown keys."""

from __future__ import annotations

from collections.abc import Iterable
import difflib
from pathlib import Path

from gsmgw.errors import ConfigError


class Table:
    """A TOML table being read: typed getters that name the key path, and an unknown-key check."""

    def __init__(self, file: str, path: str, data: dict[str, object], base: Path) -> None:
        self.file, self.path, self.data, self.base = file, path, data, base
        self._read: set[str] = set()
        self._children: list[Table] = []

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.file, f"{self.path}.{key}" if self.path else key, problem)

    def _get(self, key: str, kinds: tuple[type, ...], expected: str) -> object:
        self._read.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(key, f"must be {expected}, not {kind(value)}")
        return value

    def string(self, key: str, default: str) -> str:
        value = self._get(key, (str,), "a string")
        return default if value is None else str(value)

    def optional_string(self, key: str) -> str | None:
        value = self._get(key, (str,), "a string")
        return None if value is None else str(value)

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        value, allowed = self.string(key, default), tuple(choices)
        if value not in allowed:
            raise self.error(key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, (bool,), "true or false")
        return default if value is None else bool(value)

    def integer(self, key: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = self._get(key, (int,), "an integer")
        if value is None:
            return default
        assert isinstance(value, int)
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, not {value}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, (int, float), "a number")
        if value is None:
            return default
        assert isinstance(value, int | float)
        if value < 0:
            raise self.error(key, f"must not be negative, not {value}")
        return float(value)

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(key, (list,), "a list of strings")
        if value is None:
            return default
        assert isinstance(value, list)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{index}]", f"must be a string, not {kind(item)}")
        return tuple(value)

    def path_value(self, key: str, default: Path | None) -> Path | None:
        value = self.optional_string(key)
        if value is None:
            return default
        if not value:
            raise self.error(key, "must not be empty")
        return self.base / Path(value).expanduser()

    def secret(self, key: str) -> tuple[Path | None, str | None]:
        """Read a secret file named by ``key``: (path, its first line stripped)."""
        path = self.path_value(key, None)
        if path is None:
            return None, None
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(key, f"cannot read {path}: {exc.__class__.__name__}") from exc
        if not secret:
            raise self.error(key, f"{path} is empty")
        return path, secret

    def table(self, key: str) -> Table:
        value = self._get(key, (dict,), "a table")
        return self._child(key, value if isinstance(value, dict) else {})

    def tables(self, key: str) -> list[Table]:
        value = self._get(key, (list,), "an array of tables ([[" + key + "]])")
        result = []
        for index, item in enumerate(value if isinstance(value, list) else []):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"must be a table, not {kind(item)}")
            result.append(self._child(f"{key}[{index}]", item))
        return result

    def _child(self, key: str, data: dict[str, object]) -> Table:
        path = f"{self.path}.{key}" if self.path else key
        child = Table(self.file, path, data, self.base)
        self._children.append(child)
        return child

    def finish(self) -> None:
        """Raise for the first key nobody read, suggesting the nearest known one."""
        for key in self.data:
            if key not in self._read:
                near = difflib.get_close_matches(key, sorted(self._read), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise self.error(key, f"unknown key{hint}")
        for child in self._children:
            child.finish()


def kind(value: object) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    kinds |= {list: "a list", dict: "a table"}
    return kinds.get(type(value), type(value).__name__)
