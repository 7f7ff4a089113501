"""The `netguard` command line and the local stack: operators' and developers' tools.

Installed by `make` for development; never part of the Lambda layer, which holds only `netguard`.
"""
