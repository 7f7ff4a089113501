"""Configuration, validated once at cold start; no other module reads `os.environ`."""

from netguard.config.env import EnvReader

__all__ = ["EnvReader"]
