"""Levelstream: a self-hosted real-time JSON document backend on LevelDB."""

__version__ = "0.1.0"
