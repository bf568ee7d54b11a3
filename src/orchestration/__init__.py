"""Formance Orchestration (Flows) API v1/v2 on a durable engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("orchestration")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "develop"
