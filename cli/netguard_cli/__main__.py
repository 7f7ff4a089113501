"""`python -m netguard_cli ...` is the same as the `netguard` console script."""

from netguard_cli.main import main

raise SystemExit(main())
