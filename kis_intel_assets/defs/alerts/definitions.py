"""The alerts domain's definitions: the alert sensors and their resource; the root
(kis_intel_assets/definitions.py) merges them with the other domains.

Default statuses and what each sensor watches: see kis_intel_assets/defs/alerts/sensors.py. The sensors
also need the `database` resource (DatabaseResource) that the ingestion assets use.
"""

import dagster as dg

from kis_intel_assets.defs.alerts.resources import alerts_resource_from_env
from kis_intel_assets.defs.alerts.sensors import (
    asset_check_failure_alerts,
    run_failure_alerts,
    table_alert_sensors,
)

alert_sensors: list[dg.SensorDefinition] = [
    *table_alert_sensors,
    asset_check_failure_alerts,
    run_failure_alerts,
]
alert_resources: dict[str, object] = {"alerts": alerts_resource_from_env()}
alerts_defs = dg.Definitions(sensors=alert_sensors, resources=alert_resources)
