"""The evidence store: a database (rows, events) and a media folder (originals)."""

from verify.store.blobs import BlobStore, Staged, sha256_file
from verify.store.db import ItemFilter, NewItem, Store, make_engine

__all__ = ["BlobStore", "ItemFilter", "NewItem", "Staged", "Store", "make_engine", "sha256_file"]
