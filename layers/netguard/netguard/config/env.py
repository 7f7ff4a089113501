"""Reading settings from the environment, once, at cold start.

Every reader names the variable and what it should be when a value is wrong, so an operator can fix
a deployment from the error alone. Only `Settings.from_env()` functions call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from netguard.errors import ConfigError

E = TypeVar("E", bound=Enum)
# The reader's methods are named after the types they return, which shadows the builtins inside the class.
_Str = str
_Int = int
_Float = float
_Bool = bool


class EnvReader:
    """Typed access to a mapping of settings (normally `os.environ`)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = environ

    def str(self, name: _Str, default: _Str | None = None) -> _Str:
        value = self._env.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise ConfigError(f"{name} is required but not set")
        return default

    def optional(self, name: _Str) -> _Str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def int(
        self, name: _Str, default: _Int, *, minimum: _Int | None = None, maximum: _Int | None = None
    ) -> _Int:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a whole number") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name}={value} is above the maximum of {maximum}")
        return value

    def float(self, name: _Str, default: _Float, *, minimum: _Float | None = None) -> _Float:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
        return value

    def bool(self, name: _Str, default: _Bool) -> _Bool:
        raw = self._env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} must be true or false")

    def enum(self, name: _Str, enum_type: type[E], default: E) -> E:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        for member in enum_type:
            if raw.lower() == str(member.value).lower():
                return member
        allowed = ", ".join(str(m.value) for m in enum_type)
        raise ConfigError(f"{name}={raw!r} must be one of: {allowed}")

    def json_object(self, name: _Str) -> dict[_Str, object]:
        raw = self._env.get(name, "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} is not valid JSON: {exc.msg} at position {exc.pos}") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a JSON object, got {type(value).__name__}")
        return value

    def csv(self, name: _Str) -> tuple[_Str, ...]:
        raw = self._env.get(name, "")
        return tuple(part.strip() for part in raw.split(",") if part.strip())
