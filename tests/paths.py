"""Where the tests' data lives, for test files at any depth under tests/."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CASTS = TESTS / "casts"
GOLDEN = TESTS / "golden"
