"""The digital product passport (Decree 37/2026/NĐ-CP Art. 32): the passport document of a batch
(:func:`passport`: what every face publishes or sends), certificate validity, and completeness
per product, batch and producer. The certificates themselves are registry records
(:mod:`trace.services.registry.certificates`)."""

from trace.services.passport.content import DPP_LINK_TYPE, passport

__all__ = ["DPP_LINK_TYPE", "passport"]
