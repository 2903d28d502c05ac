"""Alerts: the message of an incident, and its sending by webhook (JSON) or e-mail (SMTP). No Dagster here:
the sensors (`sensors/alert_sensor.py`, `sensors/run_failure_alerts.py`) decide what is an incident."""
