"""`python -m sonet_pipeline.cli`: the `sonet-pipeline` command."""

import sys

from sonet_pipeline.cli.main import main

sys.exit(main())
