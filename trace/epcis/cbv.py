"""CBV 2.0 vocabularies: canonical forms, validation and Vietnamese/English display names.

A CBV value may arrive in three spellings that mean the same thing:

* the bare CBV 2.0 term used by EPCIS 2.0 JSON-LD: ``shipping``;
* the EPCIS 1.x URN: ``urn:epcglobal:cbv:bizstep:shipping``;
* the GS1 web vocabulary URI: ``https://ref.gs1.org/cbv/BizStep-shipping``
  (also the CURIE ``cbv:BizStep-shipping`` and the older ``https://gs1.org/voc/BizStep-…``).

**The stored canonical form is the bare CBV 2.0 term** (``shipping``): it is what EPCIS 2.0
JSON-LD documents carry under the standard ``@context``, so stored events export unchanged, and
it is the shortest key for ``STAGE_NAMES``. The hash algorithm needs the web URI form instead;
:func:`cbv_uri` gives it.

A value that looks like CBV (a bare word, a ``urn:epcglobal:cbv:`` URN or a ``ref.gs1.org/cbv``
URI) but names no term raises :class:`VocabularyError`. Any other absolute URI (for example
``https://example.com/mystep``) is a user extension and is returned unchanged: EPCIS allows
private vocabularies as long as they are URIs.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "BIZ_STEPS",
    "BIZ_TRANSACTION_TYPES",
    "COMPONENTS",
    "DISPOSITIONS",
    "DISPOSITION_NAMES",
    "ERROR_REASONS",
    "EXTENSION_NS",
    "EXTENSION_STAGE_NAMES",
    "MEASUREMENT_TYPES",
    "SENSOR_ALERT_TYPES",
    "SOURCE_DEST_TYPES",
    "STAGE_NAMES",
    "VocabularyError",
    "canonical_bizstep",
    "canonical_biztransaction_type",
    "canonical_component",
    "canonical_disposition",
    "canonical_error_reason",
    "canonical_measurement_type",
    "canonical_sensor_alert_type",
    "canonical_source_dest_type",
    "canonical_term",
    "cbv_uri",
    "disposition_name",
    "stage_name",
]


class VocabularyError(ValueError):
    """A value that claims to be a CBV term (by its form) but is not one."""

    def __init__(self, kind: str, value: object) -> None:
        super().__init__(f"unknown CBV {kind} value {value!r}")
        self.kind = kind
        self.value = value


BIZ_STEPS: Final = frozenset(
    [
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    ]
)
DISPOSITIONS: Final = frozenset(
    [
        "active",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    ]
)
BIZ_TRANSACTION_TYPES: Final = frozenset(
    [
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ]
)
SOURCE_DEST_TYPES: Final = frozenset(["owning_party", "possessing_party", "location"])
ERROR_REASONS: Final = frozenset(["did_not_occur", "incorrect_data"])
COMPONENTS: Final = frozenset(
    [
        "x",
        "y",
        "z",
        "axial_distance",
        "azimuth",
        "height",
        "spherical_radius",
        "polar_angle",
        "elevation_angle",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "altitude",
    ]
)
#: Sensor measurement types of the GS1 Web Vocabulary (``gs1:`` prefix), as listed in the
#: EPCIS 2.0 JSON-LD context. The set is open: other URIs are accepted as extensions.
MEASUREMENT_TYPES: Final = frozenset(
    [
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "Radioactivity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ]
)
SENSOR_ALERT_TYPES: Final = frozenset({"ALARM_CONDITION", "ERROR_CONDITION"})

# kind -> (terms, web-URI prefix, EPCIS 1.x URN prefix or None).
_CBV = "https://ref.gs1.org/cbv/"
_GS1 = "https://gs1.org/voc/"
_KINDS: Final[dict[str, tuple[frozenset[str], str, str | None]]] = {
    "bizStep": (BIZ_STEPS, _CBV + "BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": (DISPOSITIONS, _CBV + "Disp-", "urn:epcglobal:cbv:disp:"),
    "bizTransactionType": (BIZ_TRANSACTION_TYPES, _CBV + "BTT-", "urn:epcglobal:cbv:btt:"),
    "sourceDestType": (SOURCE_DEST_TYPES, _CBV + "SDT-", "urn:epcglobal:cbv:sdt:"),
    "errorReason": (ERROR_REASONS, _CBV + "ER-", "urn:epcglobal:cbv:er:"),
    "component": (COMPONENTS, _CBV + "Comp-", None),
    "measurementType": (MEASUREMENT_TYPES, _GS1, None),
    "sensorAlertType": (SENSOR_ALERT_TYPES, _GS1, None),
}
_CBV_SEGMENT = {
    "bizStep": "BizStep-",
    "disposition": "Disp-",
    "bizTransactionType": "BTT-",
    "sourceDestType": "SDT-",
    "errorReason": "ER-",
    "component": "Comp-",
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_WEB_PREFIXES = (
    "https://ref.gs1.org/cbv/",
    "http://ref.gs1.org/cbv/",
    "https://gs1.org/voc/",
    "http://gs1.org/voc/",
    "https://ns.gs1.org/voc/",
    "cbv:",
    "gs1:",
)


def canonical_term(kind: str, value: str) -> str:
    """Canonical stored form of a value of vocabulary *kind* (see the module docstring).

    *kind* is one of ``bizStep``, ``disposition``, ``bizTransactionType``, ``sourceDestType``,
    ``errorReason``, ``component``, ``measurementType``, ``sensorAlertType``.
    """
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(kind, value)
    terms, _web, urn = _KINDS[kind]
    v = value.strip()
    if v in terms:
        return v
    if not _SCHEME.match(v):
        raise VocabularyError(kind, value)  # a bare word that is no CBV term
    low = v.lower()
    if low.startswith("urn:epcglobal:cbv:"):
        if urn is not None and low.startswith(urn):
            short = v[len(urn) :]
            if short in terms:
                return short
        raise VocabularyError(kind, value)
    for prefix in _WEB_PREFIXES:
        if low.startswith(prefix):
            rest = v[len(prefix) :]
            segment = _CBV_SEGMENT.get(kind)
            term: str | None = rest
            if segment is not None:
                term = rest[len(segment) :] if rest.lower().startswith(segment.lower()) else None
            if term in terms:
                return term
            raise VocabularyError(kind, value)  # GS1 namespace, but no such term
    return v  # a URI of another namespace: a user extension


def cbv_uri(kind: str, value: str) -> str:
    """The GS1 web-vocabulary URI for *value* (any accepted form); extensions unchanged."""
    term = canonical_term(kind, value)
    terms, web, _urn = _KINDS[kind]
    return web + term if term in terms else term


def canonical_bizstep(value: str) -> str:
    """Canonical bizStep: bare CBV 2.0 term, or the URI itself for an extension step."""
    return canonical_term("bizStep", value)


def canonical_disposition(value: str) -> str:
    """Canonical disposition: bare CBV 2.0 term, or the URI for an extension."""
    return canonical_term("disposition", value)


def canonical_biztransaction_type(value: str) -> str:
    """Canonical business transaction type (``po``, ``desadv``…)."""
    return canonical_term("bizTransactionType", value)


def canonical_source_dest_type(value: str) -> str:
    """Canonical source/destination type (``owning_party``, ``possessing_party``, ``location``)."""
    return canonical_term("sourceDestType", value)


def canonical_error_reason(value: str) -> str:
    """Canonical error declaration reason (``did_not_occur``, ``incorrect_data``)."""
    return canonical_term("errorReason", value)


def canonical_component(value: str) -> str:
    """Canonical sensor coordinate component (``x``, ``latitude``…)."""
    return canonical_term("component", value)


def canonical_measurement_type(value: str) -> str:
    """Canonical sensor measurement type: bare GS1 term (``Temperature``) or an extension URI."""
    return canonical_term("measurementType", value)


def canonical_sensor_alert_type(value: str) -> str:
    """Canonical sensor alert type (``ALARM_CONDITION``, ``ERROR_CONDITION``)."""
    return canonical_term("sensorAlertType", value)


#: Display names of every CBV 2.0 bizStep, keyed by the canonical (bare) term.
STAGE_NAMES: Final[dict[str, dict[str, str]]] = {
    "accepting": {"vi": "Chấp nhận hàng", "en": "Accepting"},
    "arriving": {"vi": "Đến nơi", "en": "Arriving"},
    "assembling": {"vi": "Lắp ráp", "en": "Assembling"},
    "collecting": {"vi": "Thu gom", "en": "Collecting"},
    "commissioning": {"vi": "Khởi tạo mã", "en": "Commissioning"},
    "consigning": {"vi": "Ký gửi", "en": "Consigning"},
    "creating_class_instance": {"vi": "Tạo lô hàng", "en": "Creating class instance"},
    "cycle_counting": {"vi": "Kiểm đếm định kỳ", "en": "Cycle counting"},
    "decommissioning": {"vi": "Ngừng sử dụng mã", "en": "Decommissioning"},
    "departing": {"vi": "Xuất phát", "en": "Departing"},
    "destroying": {"vi": "Tiêu hủy", "en": "Destroying"},
    "disassembling": {"vi": "Tháo rời", "en": "Disassembling"},
    "dispensing": {"vi": "Cấp phát", "en": "Dispensing"},
    "encoding": {"vi": "Ghi mã", "en": "Encoding"},
    "entering_exiting": {"vi": "Ra vào khu vực", "en": "Entering or exiting"},
    "holding": {"vi": "Tạm giữ", "en": "Holding"},
    "inspecting": {"vi": "Kiểm tra", "en": "Inspecting"},
    "installing": {"vi": "Lắp đặt", "en": "Installing"},
    "killing": {"vi": "Vô hiệu hóa thẻ", "en": "Killing"},
    "loading": {"vi": "Bốc xếp lên phương tiện", "en": "Loading"},
    "other": {"vi": "Công đoạn khác", "en": "Other"},
    "packing": {"vi": "Đóng gói", "en": "Packing"},
    "picking": {"vi": "Lấy hàng", "en": "Picking"},
    "receiving": {"vi": "Tiếp nhận", "en": "Receiving"},
    "removing": {"vi": "Tháo gỡ", "en": "Removing"},
    "repackaging": {"vi": "Đóng gói lại", "en": "Repackaging"},
    "repairing": {"vi": "Sửa chữa", "en": "Repairing"},
    "replacing": {"vi": "Thay thế", "en": "Replacing"},
    "reserving": {"vi": "Đặt trước mã", "en": "Reserving"},
    "retail_selling": {"vi": "Bán lẻ", "en": "Retail selling"},
    "sampling": {"vi": "Lấy mẫu", "en": "Sampling"},
    "sensor_reporting": {"vi": "Ghi nhận cảm biến", "en": "Sensor reporting"},
    "shipping": {"vi": "Vận chuyển", "en": "Shipping"},
    "staging_outbound": {"vi": "Tập kết chờ xuất", "en": "Staging outbound"},
    "stock_taking": {"vi": "Kiểm kê", "en": "Stock taking"},
    "stocking": {"vi": "Bày hàng lên kệ", "en": "Stocking"},
    "storing": {"vi": "Lưu kho", "en": "Storing"},
    "transporting": {"vi": "Vận tải", "en": "Transporting"},
    "unloading": {"vi": "Dỡ hàng", "en": "Unloading"},
    "unpacking": {"vi": "Mở gói", "en": "Unpacking"},
    "void_shipping": {"vi": "Hủy xuất hàng", "en": "Void shipping"},
}

#: Namespace for project-specific steps that CBV 2.0 lacks (it has no harvesting or cooling).
#: EPCIS requires such steps to be URIs; change this only with a data migration, since the
#: URIs end up in stored events and their hashes.
EXTENSION_NS: Final = "https://id.trace.vn/voc/BizStep-"

#: Display names of the project's extension steps, keyed by their full URI (their stored form).
EXTENSION_STAGE_NAMES: Final[dict[str, dict[str, str]]] = {
    EXTENSION_NS + "harvesting": {"vi": "Thu hoạch", "en": "Harvesting"},
    EXTENSION_NS + "cooling": {"vi": "Làm lạnh", "en": "Cooling"},
    EXTENSION_NS + "processing": {"vi": "Chế biến", "en": "Processing"},
    EXTENSION_NS + "drying": {"vi": "Phơi sấy", "en": "Drying"},
}

#: Display names of every CBV 2.0 disposition, keyed by the canonical (bare) term.
DISPOSITION_NAMES: Final[dict[str, dict[str, str]]] = {
    "active": {"vi": "Đang hoạt động", "en": "Active"},
    "available": {"vi": "Sẵn sàng", "en": "Available"},
    "completeness_verified": {"vi": "Đã xác minh đủ", "en": "Completeness verified"},
    "completeness_inferred": {"vi": "Suy định là đủ", "en": "Completeness inferred"},
    "conformant": {"vi": "Đạt yêu cầu", "en": "Conformant"},
    "container_closed": {"vi": "Đã đóng thùng", "en": "Container closed"},
    "container_open": {"vi": "Thùng đang mở", "en": "Container open"},
    "damaged": {"vi": "Hư hỏng", "en": "Damaged"},
    "destroyed": {"vi": "Đã tiêu hủy", "en": "Destroyed"},
    "dispensed": {"vi": "Đã cấp phát", "en": "Dispensed"},
    "disposed": {"vi": "Đã thải bỏ", "en": "Disposed"},
    "encoded": {"vi": "Đã ghi mã", "en": "Encoded"},
    "expired": {"vi": "Hết hạn", "en": "Expired"},
    "in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "in_transit": {"vi": "Đang vận chuyển", "en": "In transit"},
    "inactive": {"vi": "Không hoạt động", "en": "Inactive"},
    "mismatch_instance": {"vi": "Sai lệch mã đơn vị", "en": "Mismatch instance"},
    "mismatch_class": {"vi": "Sai lệch loại hàng", "en": "Mismatch class"},
    "mismatch_quantity": {"vi": "Sai lệch số lượng", "en": "Mismatch quantity"},
    "needs_replacement": {"vi": "Cần thay thế", "en": "Needs replacement"},
    "no_pedigree_match": {"vi": "Không khớp hồ sơ nguồn gốc", "en": "No pedigree match"},
    "non_conformant": {"vi": "Không đạt yêu cầu", "en": "Non-conformant"},
    "non_sellable_other": {"vi": "Không được bán (lý do khác)", "en": "Non-sellable, other"},
    "partially_dispensed": {"vi": "Đã cấp phát một phần", "en": "Partially dispensed"},
    "recalled": {"vi": "Bị thu hồi", "en": "Recalled"},
    "reserved": {"vi": "Đã đặt trước", "en": "Reserved"},
    "retail_sold": {"vi": "Đã bán lẻ", "en": "Retail sold"},
    "returned": {"vi": "Bị trả lại", "en": "Returned"},
    "sellable_accessible": {"vi": "Có thể bán, đang trưng bày", "en": "Sellable, accessible"},
    "sellable_not_accessible": {
        "vi": "Có thể bán, chưa trưng bày",
        "en": "Sellable, not accessible",
    },
    "stolen": {"vi": "Bị mất cắp", "en": "Stolen"},
    "unavailable": {"vi": "Không sẵn sàng", "en": "Unavailable"},
    "unknown": {"vi": "Không xác định", "en": "Unknown"},
}


_ALL_STAGE_NAMES: Final = {**STAGE_NAMES, **EXTENSION_STAGE_NAMES}


def _display(names: dict[str, dict[str, str]], value: str, lang: str) -> str:
    entry = names.get(value)
    if entry is None:
        # An extension URI: show its last path segment, minus a "BizStep-"-style prefix.
        tail = re.split(r"[/#:]", value.rstrip("/"))[-1]
        return tail.split("-", 1)[-1].replace("_", " ") or value
    return entry.get(lang) or entry["en"]


def stage_name(bizstep: str, lang: str = "vi") -> str:
    """Display name of a bizStep (any accepted form) in ``vi`` or ``en``."""
    return _display(_ALL_STAGE_NAMES, canonical_bizstep(bizstep), lang)


def disposition_name(disposition: str, lang: str = "vi") -> str:
    """Display name of a disposition (any accepted form) in ``vi`` or ``en``."""
    return _display(DISPOSITION_NAMES, canonical_disposition(disposition), lang)
