"""Whether the active knowledge-base version was embedded with the model the settings select.

    python -m ingest.current [--data-dir D] [--config FILE]

Exits 0 when it was, 1 when there is no active version or it was built with another embedding model
(so `make run` re-ingests the sample instead of failing to open it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config.settings import Settings, load_settings
from knowledge.embeddings import build_embeddings
from knowledge.registry import Registry


def active_is_current(settings: Settings) -> bool:
    """True when the active version exists and its embedding model is the configured one."""
    state = Registry(settings.data_dir).read()
    if state.active is None:
        return False
    return state.get(state.active).embedding == build_embeddings(settings.embedding).model_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args(argv)
    overrides = {"data_dir": args.data_dir} if args.data_dir is not None else {}
    return 0 if active_is_current(load_settings(args.config, **overrides)) else 1


if __name__ == "__main__":
    sys.exit(main())
