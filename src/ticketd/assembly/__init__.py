"""The composition root: the one place that knows every face, and builds the app from the settings."""
