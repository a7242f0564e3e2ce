"""Understanding platform and bank notices: kind, maintenance windows, affected pay channels.

Pure code: no I/O, no clock reads; the publication date is a parameter.
"""

from watcher.notices.cli import parse_notice_json
from watcher.notices.model import KINDS, InterfaceChange, Kind, NoticeUnderstanding
from watcher.notices.understand import understand

__all__ = ["KINDS", "InterfaceChange", "Kind", "NoticeUnderstanding", "parse_notice_json", "understand"]
