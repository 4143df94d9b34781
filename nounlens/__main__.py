import sys

from nounlens.cli.main import main

sys.exit(main())
