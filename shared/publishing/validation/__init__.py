"""Per-platform publishing rules, pure: a draft plus what is known about its media -> the rules it breaks."""

from shared.publishing.validation.model import MediaFacts, PostDraft, Violation
from shared.publishing.validation.rules import validate

__all__ = ["MediaFacts", "PostDraft", "Violation", "validate"]
