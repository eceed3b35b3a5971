import sys

from pushfake.cli import main

sys.exit(main())
