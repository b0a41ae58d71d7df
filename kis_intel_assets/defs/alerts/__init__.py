"""Alert sensors and the alerts resource (pure logic lives in kis_intel_assets.alerts)."""
