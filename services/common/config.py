"""The one config loader.

Each service keeps a ``config.yaml`` whose values may be ``${ENV_VAR:default}``;
this is nameko's own syntax, so the same file works with ``nameko run --config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from nameko.cli.main import setup_yaml_parser

ROOT = Path(__file__).resolve().parents[2]
_parser_ready = False


def config_path(component: str) -> Path:
    """``intake`` → services/intake/config.yaml; ``gateway`` → gateway/config.yaml."""
    if component == "gateway":
        return ROOT / "gateway" / "config.yaml"
    return ROOT / "services" / component / "config.yaml"


def load_config(component: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    global _parser_ready
    if not _parser_ready:
        setup_yaml_parser()
        _parser_ready = True
    with open(config_path(component), encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    config.update(overrides or {})
    return config


def env(name: str, default: str) -> str:
    """For the few settings read outside a nameko container (scripts, bench)."""
    return os.environ.get(name, default)
