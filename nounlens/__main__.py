import sys

from nounlens.cli import main

sys.exit(main())
