"""Event-signing keys from the configuration and the state directory.

* A role principal's private key comes from ``security.principals.<role>.private_key`` (a secret,
  normally from ``HUABEI_WATCH_SECURITY__PRINCIPALS__<ROLE>__PRIVATE_KEY``), else from
  ``<keys_dir>/<role>.key``; with ``security.generate_keys`` on (``auto``: with the embedded
  broker) a missing file is created (mode 0600, directory 0700).
* Accepted public keys: ``public_keys`` of each principal, plus the public half of its private key.
* Principals that are not roles are outside producers (public keys only), allowed on types open to
  them (payment results).

:func:`problems` says, as ``key.path: message`` lines, what a process running some roles lacks;
:func:`load_keyring` raises :class:`~huabei_watch.errors.ConfigError` with the same lines.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from huabei_watch.config.settings import DaemonSettings, SecuritySettings
from huabei_watch.errors import ConfigError
from huabei_watch.events.auth import (
    KeyFormatError,
    PrivateKey,
    PublicKey,
    Signer,
    SigningKey,
    Verifier,
    private_key_from_text,
    private_key_text,
    public_key_from_text,
)
from huabei_watch.events.base import REGISTRY, producers

log = logging.getLogger(__name__)


def role_principals() -> tuple[str, ...]:
    """Every principal the event contract names as a producer (the roles)."""
    return tuple(sorted({p for model in REGISTRY.values() for p in model.PRODUCERS}))


def keys_dir(daemon: DaemonSettings, security: SecuritySettings) -> Path:
    return security.keys_dir if security.keys_dir is not None else daemon.state_dir / "keys"


def generates(security: SecuritySettings, *, embedded: bool) -> bool:
    return security.generate_keys == "on" or (security.generate_keys == "auto" and embedded)


@dataclass(frozen=True, slots=True)
class Keyring:
    """What the bus signs with and the consumers verify with; both None when signing is off."""

    signer: Signer | None
    verifier: Verifier | None

    @classmethod
    def disabled(cls) -> Keyring:
        return cls(None, None)


def _env(principal: str) -> str:
    return f"HUABEI_WATCH_SECURITY__PRINCIPALS__{principal.upper()}__PRIVATE_KEY"


def problems(
    daemon: DaemonSettings, security: SecuritySettings, *, embedded: bool, roles: Iterable[str]
) -> list[str]:
    """What is missing for a process running ``roles`` (no side effects: nothing is generated)."""
    if not security.sign_events:
        return []
    roles_known = role_principals()
    out: list[str] = []
    for name, given in security.principals.items():
        if name not in roles_known and given.private_key is not None:
            out.append(f"security.principals.{name}.private_key: {name!r} is not a role; an outside producer "
                       "keeps its private key to itself (give only public_keys)")
    if generates(security, embedded=embedded):
        return out
    folder = keys_dir(daemon, security)
    for name in roles_known:
        keys = security.principals.get(name)
        has_private = (keys is not None and keys.private_key is not None) or (folder / f"{name}.key").is_file()
        if name in roles and not has_private:
            out.append(f"security.principals.{name}.private_key: missing; the {name} role signs what it publishes "
                       f"(set {_env(name)}; `huabei-watch keys generate {name}` makes one)")
        if not has_private and (keys is None or not keys.public_keys):
            out.append(f"security.principals.{name}.public_keys: missing; consumers verify {name}'s events with it "
                       f"(the public key `huabei-watch keys generate {name}` prints)")
    return out


def _read_or_create(path: Path, create: bool) -> PrivateKey | None:
    try:
        return private_key_from_text(path.read_text("ascii"))
    except FileNotFoundError:
        if not create:
            return None
    except (OSError, UnicodeDecodeError, KeyFormatError) as exc:
        raise ConfigError([f"security.keys_dir: cannot read {path}: {exc}"]) from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this state dir made it first: use theirs
        return private_key_from_text(path.read_text("ascii"))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(private_key_text(key) + "\n")
    log.info("security.key_generated", extra={"path": str(path)})
    return key


def load_keyring(
    daemon: DaemonSettings, security: SecuritySettings, *, embedded: bool, roles: Iterable[str]
) -> Keyring:
    """The keyring of a process running ``roles``; raises :class:`ConfigError` listing what lacks."""
    if not security.sign_events:
        log.warning("security.signing_off", extra={"reason": "security.sign_events = false: events are "
                                                              "neither signed nor verified"})
        return Keyring.disabled()
    roles = list(roles)
    missing = problems(daemon, security, embedded=embedded, roles=roles)
    if missing:
        raise ConfigError(missing)
    create = generates(security, embedded=embedded)
    folder = keys_dir(daemon, security)
    signing: list[SigningKey] = []
    public: dict[str, list[PublicKey]] = {}
    for name in role_principals():
        keys = security.principals.get(name)
        if keys is not None and keys.private_key is not None:
            private: PrivateKey | None = private_key_from_text(keys.private_key.get_secret_value())
        else:
            private = _read_or_create(folder / f"{name}.key", create)
        if private is not None:
            signing.append(SigningKey(name, private))
            public.setdefault(name, []).append(private.verify_key)
    outside: list[str] = []
    for name, keys in security.principals.items():
        public.setdefault(name, []).extend(public_key_from_text(t) for t in keys.public_keys)
        if name not in role_principals():
            outside.append(name)
    return Keyring(Signer(signing), Verifier(public, producers(outside)))
