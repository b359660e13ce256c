"""What operators see: metrics, request ids and logs. Below every other layer but the settings, so
the store, the worker and the web layer can all report."""
