"""Deterministic train/validation/test split by a hash of the record id.

A record's split depends only on its id and the ratios, so it keeps its split across versions
and across changes to the rest of the corpus.
"""

from __future__ import annotations

import hashlib

from coig.settings import SplitRatios

SPLITS = ("train", "validation", "test")


def split_of(record_id: str, ratios: SplitRatios) -> str:
    digest = hashlib.blake2b(f"coig-split\x1f{record_id}".encode(), digest_size=8).digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < ratios.test:
        return "test"
    if position < ratios.test + ratios.validation:
        return "validation"
    return "train"
