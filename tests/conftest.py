"""Fixtures shared by every test; each lives in the `tests.support` module named after what it starts."""

pytest_plugins = [
    "tests.support.receivers",
    "tests.support.k8s",
    "tests.support.aws",
    "tests.support.alertmanager",
    "tests.support.eks_addons",
]
