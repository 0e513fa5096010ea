"""Moved to ``ops.suite`` (the process runner is not part of the library every service
imports). Kept so that ``python -m services.common.suite`` and older imports still work."""
import sys

from ops.suite import *  # noqa: F401,F403
from ops.suite import main

if __name__ == "__main__":
    sys.exit(main())
