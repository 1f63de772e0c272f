"""Home Assistant tests: the integration running in a real Home Assistant."""
