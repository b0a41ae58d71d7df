"""The alerts resource: channel settings for the sensors.

Its channel fields are built from `settings.ALERT_VARIABLES`, the one list of alert settings (name,
variable, default, secrecy) that `AlertSettings.from_env` reads too. Webhook URLs and the bot token are
given as `dg.EnvVar`s, so the Dagster UI shows the variable's name and never its value. An EnvVar whose
variable is unset fails the resource at launch, and every channel is optional, so
`alerts_resource_from_env` passes an EnvVar only for the variables that are set.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field as ConfigField
from pydantic import create_model

from kis_intel_assets.alerts import (
    AlertSettings,
    DeliveryReport,
    channels_from_settings,
    deliver_pending,
)
from kis_intel_assets.alerts.delivery import DEFAULT_BUDGET_SECONDS
from kis_intel_assets.defs.resources import env_var_if_set
from kis_intel_assets.settings import ALERT_VARIABLES, alert_values

# One config field per alert setting; secrets stay out of the resource's repr. A type checker cannot
# follow a class built at run time, so it sees the base the fields are added to (read with getattr).
if TYPE_CHECKING:
    _AlertChannelFields = dg.ConfigurableResource
else:
    _AlertChannelFields = create_model(
        "_AlertChannelFields",
        __base__=dg.ConfigurableResource,
        **{
            var.field: (
                str,
                ConfigField(
                    default=var.default,
                    repr=not var.secret,
                    description=f"{'secret; ' if var.secret else ''}{var.env}",
                ),
            )
            for var in ALERT_VARIABLES
        },
    )


class AlertsResource(_AlertChannelFields):
    """Where alerts are posted (Slack, Discord; the console when neither is set) and what they link to."""

    delivery_budget_seconds: float = ConfigField(
        default=DEFAULT_BUDGET_SECONDS, gt=0, le=50, description="time one tick may spend posting alerts"
    )

    def settings(self) -> AlertSettings:
        return AlertSettings.from_values({var.field: getattr(self, var.field) for var in ALERT_VARIABLES})

    def deliver(self, database_url: str, log: Any) -> DeliveryReport:
        """Post what is due; channel failures end up in the report (and the outbox), never raised."""
        settings = self.settings()
        channels = channels_from_settings(settings, log)
        try:
            return deliver_pending(
                database_url,
                channels,
                links=settings.links,
                budget_seconds=self.delivery_budget_seconds,
                log=log,
            )
        finally:
            for channel in channels:
                channel.close()


def alerts_resource_from_env(environ: Mapping[str, str] | None = None) -> AlertsResource:
    values = alert_values(environ)
    fields: dict[str, Any] = {  # an EnvVar for a secret that is set, else the value
        var.field: env_var_if_set(var.env, environ) if var.secret else values[var.field]
        for var in ALERT_VARIABLES
    }
    return AlertsResource(**fields)
