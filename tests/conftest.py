"""Fixtures shared by every test; each lives in the `tests.support` module named after what it starts."""

pytest_plugins = [
    "tests.support.aws",
]
