"""The pytest plugin (filled in by the plugin work)."""
