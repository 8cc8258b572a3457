"""`python -m registry.packs PACK --public-key FILE`: verify an offline pack (verify.py).

An entry of its own: run as `-m registry.packs.verify`, the module would be imported a second
time (the registry package imports it first), which Python warns about."""

import sys

from .verify import main

sys.exit(main())
