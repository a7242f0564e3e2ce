"""Plugin strings and version numbers (pure).

A merchant's cashier reports its plugin as free text: ``"woo-alipay/3.2.1"``, ``"woo-alipay 3.2"``,
``"woo-alipay-v3.2.1"``, ``"alipay-sdk-java-4.38.0.ALL"``. :func:`parse_plugin` splits that into a
name and a :class:`Version`; :func:`parse_version` reads the version alone.

Versions compare numerically, component by component; missing components are zero (``3.2`` ==
``3.2.0``). A pre-release suffix (``-alpha``, ``-beta.2``, ``rc1``, ``-dev``, ``-SNAPSHOT``) sorts
before its release (``3.5.0-beta`` < ``3.5.0``); any other suffix (``+build7``, ``.ALL``,
``-final``) is ignored. Neither function raises; what cannot be read gives ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import total_ordering

__all__ = ["PluginRef", "Version", "normalize_name", "parse_plugin", "parse_version"]

MAX_TEXT = 128

_VERSION_RE = re.compile(
    r"\s*[vV]?\s*(?P<release>\d{1,9}(?:\.\d{1,9})*)(?:[-._+~]?(?P<tag>[A-Za-z]+)[-._]?(?P<num>\d{1,9})?)?"
)
# Ranked pre-release tags; a tag not listed here is not a pre-release and is ignored.
_PRE_RANK = {
    "dev": 0, "snapshot": 0, "alpha": 1, "a": 1, "beta": 2, "b": 2, "m": 2, "pre": 3, "preview": 3, "rc": 4, "c": 4,
}
# name, separator, optional "v", version (a dotted number, optionally a suffix starting with a
# letter); the version holds no space or '/'. The name is the shortest that leaves such a version.
_NAME_VERSION_RE = re.compile(
    r"(?P<name>.*?\S)[\s@_-]+[vV]?(?P<version>\d{1,9}(?:\.\d{1,9})*(?:[-._+~]?[A-Za-z][A-Za-z0-9.]*)?)"
)
_NAME_NOISE = re.compile(r"[\s\-_.·]+")
_NAME_SUFFIXES = ("插件", "plugin", "plug-in")


@total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A version number. ``text`` is the version as written (for messages); it takes no part in
    comparisons, so ``Version.parse("v3.2") == Version.parse("3.2.0")``."""

    release: tuple[int, ...]
    pre: tuple[int, int] | None = None  # (rank, number) of a pre-release tag, None for a release
    text: str = field(default="")

    def _key(self) -> tuple[tuple[int, ...], int, tuple[int, int]]:
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        return tuple(release), (0 if self.pre is not None else 1), self.pre or (0, 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text or ".".join(str(p) for p in self.release)


def parse_version(text: str | None) -> Version | None:
    """Read a version such as ``"3.2.1"``, ``"v3.2"``, ``"3.5.0-beta.2"``, ``"4.38.0.ALL"``.

    The whole text must be a version (a trailing suffix is allowed); ``None`` otherwise."""
    if not text or len(text) > MAX_TEXT:
        return None
    stripped = text.strip()
    m = _VERSION_RE.match(stripped)
    if m is None:
        return None
    rest = stripped[m.end():]
    if rest and rest[0].isalnum() and not m.group("tag"):
        return None  # "3.2abc" is read with its tag; a digit run like "3.2 4" is not a version
    if rest and not re.fullmatch(r"[-._+~][A-Za-z0-9.\-_+~]*|[A-Za-z0-9.\-_+~]*", rest):
        return None
    release = tuple(int(p) for p in m.group("release").split("."))
    tag = (m.group("tag") or "").lower()
    pre = (_PRE_RANK[tag], int(m.group("num") or 0)) if tag in _PRE_RANK else None
    written = stripped[1:].lstrip() if stripped[:1] in "vV" else stripped
    return Version(release, pre, written)


@dataclass(frozen=True, slots=True)
class PluginRef:
    """A cashier plugin as reported: its name as written and its version (None when not given)."""

    name: str
    version: Version | None

    @property
    def key(self) -> str:
        """The name for matching (see :func:`normalize_name`)."""
        return normalize_name(self.name)

    def label(self) -> str:
        """How messages name it: ``"woo-alipay 3.2.1"``."""
        return f"{self.name} {self.version}" if self.version is not None else self.name


def normalize_name(name: str) -> str:
    """Case, width, spaces, ``-``/``_``/``.`` and a trailing "插件"/"plugin" do not matter:
    ``"Woo Alipay 插件"``, ``"woo_alipay"`` and ``"WOO-ALIPAY"`` all give ``"wooalipay"``."""
    text = unicodedata.normalize("NFKC", name).strip().lower()
    changed = True
    while changed:
        changed = False
        for suffix in _NAME_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)].rstrip(), True
    return _NAME_NOISE.sub("", text)


def parse_plugin(text: str | None) -> PluginRef | None:
    """Split ``"name/1.2.3"``, ``"name 1.2"``, ``"name-v1.2.3"``, ``"name@1.2"`` into a
    :class:`PluginRef`. A name without a readable version gives ``version=None``; empty or
    over-long text gives ``None``."""
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        return None
    if "/" in text:
        name, _, ver = text.rpartition("/")
        version = parse_version(ver)
        if name.strip() and version is not None:
            return PluginRef(name.strip(), version)
    m = _NAME_VERSION_RE.fullmatch(text)
    if m is not None:
        version = parse_version(m.group("version"))
        if version is not None:
            return PluginRef(m.group("name").strip(), version)
    return PluginRef(text, None)
