"""The KIS gateway: one token and one request budget for every tool that uses the app key (no Dagster)."""

from kis_intel_assets.gateway.app import Gateway
from kis_intel_assets.gateway.config import GatewaySettings, LocalClient, PriorityClass
from kis_intel_assets.gateway.server import run_gateway_cli, running_gateway, serve

__all__ = [
    "Gateway",
    "GatewaySettings",
    "LocalClient",
    "PriorityClass",
    "run_gateway_cli",
    "running_gateway",
    "serve",
]
