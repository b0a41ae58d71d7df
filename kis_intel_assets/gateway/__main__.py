"""`python -m kis_intel_assets.gateway [--host] [--port] [--clients]`: the same as `kis-intel gateway`,
without importing the rest of the CLI (which loads Dagster): the quickest start, e.g. under a service
manager's restart."""

import sys

from kis_intel_assets.gateway.server import run_gateway_cli

raise SystemExit(run_gateway_cli(sys.argv[1:]))
