"""`python -m netguard ...` is the same as the `netguard` console script."""

from netguard.cli import main

raise SystemExit(main())
