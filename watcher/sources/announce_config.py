"""Configuration of announcement sources: the ``[[sources]]`` tables of the TOML file.

Each table has a ``kind`` (``html``, ``rss`` or ``json``) that picks its model; the fields every
kind shares live in :class:`SourceCommon`. Durations are float seconds. Models are frozen and
reject unknown keys, so a typo in the file is an error that names the key.
"""

from __future__ import annotations

import codecs
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic_core import PydanticCustomError

from huabei_watch.config.types import Duration

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
MIN_INTERVAL_S = 5.0
#: Values the sources share: selectors, formats, durations, sets of given keys (few distinct ones;
#: bounded all the same). A source's own id and URL are not worth an entry.
_SHARED: dict[object, Any] = {}
_SHARED_MAX = 1024
_OWN = frozenset(("id", "list_url", "feed_url", "url"))


def _share(value: Any) -> Any:
    """The object in :data:`_SHARED` equal to ``value`` (a str, float or set; anything else is
    returned as it is), ``value`` itself the first time."""
    kind = type(value)
    if kind is str or kind is float or kind is set:
        key = (kind, value) if kind is not set else frozenset(value)
        found = _SHARED.get(key)
        if found is not None:
            return found
        if len(_SHARED) < _SHARED_MAX:
            _SHARED[key] = value
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("url", "must be an http:// or https:// URL, got {value}", {"value": repr(value)})
    return value


class SourceCommon(BaseModel):
    """Fields shared by every kind of announcement source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="Stable id of the source")
    enabled: bool = True
    interval: Annotated[float, Duration(ge=MIN_INTERVAL_S, le=86_400)] = Field(
        default=300.0, description="Time between polls (>= 5 s)"
    )
    jitter: Annotated[float, Duration(ge=0, le=3600)] = Field(default=0.0, description="Up to this much added to each poll")
    timeout: Annotated[float, Duration(gt=0, le=300)] = Field(default=15.0, description="Time for one request and its body")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers")
    encoding: str | None = Field(default=None, description="Charset override (wins over detection)")
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, description="Largest page read, in bytes")
    max_redirects: int = Field(default=5, ge=0, le=20)
    politeness_delay: Annotated[float, Duration(ge=0, le=600)] = Field(
        default=1.0, description="Time between requests to one host"
    )
    degraded_after: int = Field(default=3, ge=1, description="Consecutive failed polls before source.degraded")
    body_selector: str | None = Field(
        default=None, description="CSS selector of the notice body on the detail page (None: whole <body>)"
    )
    first_poll_details: int = Field(
        default=30, ge=0, description="On a source's first poll, read at most this many detail pages"
    )
    detail_recheck: Annotated[float, Duration(ge=30, le=86_400)] = Field(
        default=600.0,
        description="Read again the page of a notice whose maintenance is still ahead this often, even "
        "when the list did not change (conditional GET; at most one page a poll)",
    )

    def model_post_init(self, context: Any, /) -> None:
        """Equal values of different sources become one object (2,000 sources repeat their
        selectors, formats, durations and the set of keys they give: ~1 KB a source, issue 17).
        Only after validation; a source is frozen, so nothing can tell the values are shared."""
        fields = self.__dict__
        for name, value in fields.items():
            if name not in _OWN:
                fields[name] = _share(value)
        object.__setattr__(self, "__pydantic_fields_set__", _share(self.__pydantic_fields_set__))

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            codecs.lookup(value)
        except LookupError:
            raise PydanticCustomError("encoding", "unknown encoding {value}", {"value": repr(value)}) from None
        return value


class HtmlSource(SourceCommon):
    """A notice list page read with CSS selectors; each notice's body comes from its detail page.

    ``title_selector``/``link_selector``/``date_selector`` are relative to each item. Without a
    ``link_selector`` the item itself (if it is an ``<a>``) or its first ``<a href>`` is the link;
    without a ``title_selector`` the link's text is the title.

    A page where ``item_selector`` matches nothing is an empty list when the list's container is
    there (``container_selector``, or by default the item selector without its last step:
    ``ul.notices`` for ``ul.notices li``), and a changed layout otherwise. With a one-step item
    selector (``li``) and no ``container_selector``, no match is always a changed layout.
    """

    kind: Literal["html"] = "html"
    list_url: str
    item_selector: str = Field(min_length=1)
    container_selector: str | None = Field(
        default=None, description="CSS selector of the element holding the list (default: derived from item_selector)"
    )
    title_selector: str | None = None
    link_selector: str | None = None
    date_selector: str | None = None
    date_format: str | None = Field(default=None, description="strptime format of the date, e.g. %Y-%m-%d")

    @field_validator("list_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @property
    def list_target(self) -> str:
        """The URL polled for the list of notices."""
        return self.list_url


class RssSource(SourceCommon):
    """An RSS 2.0, RSS 1.0 or Atom feed. The body is the item's content/description unless a
    ``body_selector`` is set, in which case the linked page is read."""

    kind: Literal["rss"] = "rss"
    feed_url: str

    @field_validator("feed_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @property
    def list_target(self) -> str:
        """The URL polled for the list of notices."""
        return self.feed_url


class JsonSource(SourceCommon):
    """A JSON API listing notices. Paths are dotted (``data.list``, ``items.0.title``).

    Without ``id_field`` the notice id comes from the URL. Without ``body_field`` (or with a
    ``body_selector``) the body is read from the notice URL.
    """

    kind: Literal["json"] = "json"
    url: str
    items_path: str = Field(default="", description="Dotted path to the list of items ('' = the document)")
    id_field: str | None = None
    title_field: str = "title"
    url_field: str = "url"
    date_field: str | None = None
    date_format: str | None = None
    body_field: str | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @property
    def list_target(self) -> str:
        """The URL polled for the list of notices."""
        return self.url


AnnouncementSource = Annotated[HtmlSource | RssSource | JsonSource, Field(discriminator="kind")]

#: Validates one ``[[sources]]`` table (a dict from TOML) into its model.
SOURCE_ADAPTER: TypeAdapter[HtmlSource | RssSource | JsonSource] = TypeAdapter(AnnouncementSource)
