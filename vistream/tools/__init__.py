"""Command-line tools behind ``vistream <command>``."""
