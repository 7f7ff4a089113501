"""Subcommands of the `netguard` CLI (operators' and developers' tools; not used by the Lambdas)."""
