"""``python -m tinynet``: the same as the ``tinynet`` command."""

from tinynet.cli import main

raise SystemExit(main())
