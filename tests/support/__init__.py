"""Shared fixtures, fakes and builders for the tests (one place, so tests stay short)."""
