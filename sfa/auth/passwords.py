"""Password hashing with Argon2id (OWASP parameters by default), PHC-encoded."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

_PARAMS = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
MIN_LENGTH = 8
MAX_LENGTH = 256


@dataclass(frozen=True)
class PasswordHasher:
    memory_kib: int = 19456
    iterations: int = 2
    lanes: int = 1

    def hash(self, password: str) -> str:
        kdf = Argon2id(
            salt=os.urandom(16),
            length=32,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        )
        return kdf.derive_phc_encoded(password.encode())

    def verify(self, password: str, encoded: str | None) -> bool:
        """True if ``password`` matches; with no stored hash, spends the same time and fails,
        so an unknown account cannot be told apart by timing."""
        target = encoded or self.dummy_hash
        try:
            Argon2id.verify_phc_encoded(password.encode(), target)
        except (InvalidKey, ValueError):
            return False
        return encoded is not None

    def needs_rehash(self, encoded: str) -> bool:
        found = _PARAMS.match(encoded)
        wanted = (self.memory_kib, self.iterations, self.lanes)
        return found is None or tuple(int(g) for g in found.groups()) != wanted

    @functools.cached_property
    def dummy_hash(self) -> str:
        return self.hash("no account has this password")


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    return None
