"""Schedules and sensors: what starts runs."""
