"""`tasklife demo` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="(not yet built)")
    p.set_defaults(func=lambda args: 2)


_ = argparse
