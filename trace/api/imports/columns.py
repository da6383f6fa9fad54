"""The columns of each kind of import: headers in Vietnamese and English, what each holds.

A header matches a column when, accents and case aside (and any text in parentheses), it is the
column's API field name, its Vietnamese or English header, or one of its aliases. Values are
text; :func:`convert` turns them into what the API's schema loads (ISO dates from ``dd/mm/yyyy``,
decimals with ``.`` from ``,``, lists from ``;``, kinds, units and provinces from their names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trace.epcis import cbv
from trace.provinces import PROVINCES
from trace.services.events.stages import STAGES
from trace.services.registry.text import fold
from trace.units import UNITS

KINDS = ("organizations", "facilities", "products", "batches", "events")


@dataclass(frozen=True)
class Column:
    name: str
    vi: str
    en: str
    type: str  # text, int, decimal, date, datetime, list, or a value map's name
    help_vi: str
    help_en: str
    example: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    kind: str
    columns: tuple[Column, ...]
    #: groups of columns of which the file must have at least one
    required: tuple[tuple[str, ...], ...]

    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


def _c(name: str, vi: str, en: str, type_: str, help_vi: str, help_en: str, example: str = "",
       *aliases: str) -> Column:  # fmt: skip
    return Column(name, vi, en, type_, help_vi, help_en, example, aliases)


_ORG_REF_VI = "mã số thuế hoặc GLN của tổ chức đã đăng ký (trước đó hoặc ở dòng trên)"
_ORG_REF_EN = "tax code or GLN of a registered organisation (before, or in an earlier row)"

SPECS: dict[str, Spec] = {
    "organizations": Spec("organizations", (
        _c("kind", "Loại tổ chức", "Kind", "organization_kind",
           "hợp tác xã, nhà sản xuất, cơ sở chế biến, nhà phân phối, nhà bán lẻ…",
           "cooperative, producer, processor, distributor, retailer…", "Hợp tác xã", "loai"),
        _c("name", "Tên tổ chức", "Name", "text", "tên đầy đủ", "full name",
           "HTX Vải thiều Phượng Hoàng", "ten"),
        _c("tax_code", "Mã số thuế", "Tax code", "text",
           "10 chữ số (hoặc 10-3 cho chi nhánh); khóa nhận diện khi không có GLN",
           "10 digits (10-3 for a branch); the key when there is no GLN", "2400123456", "mst"),
        _c("gln", "Mã GLN", "GLN", "text", "13 chữ số, đúng số kiểm tra (không bắt buộc)",
           "13 digits with a correct check digit (optional)", ""),
        _c("province_code", "Tỉnh", "Province", "province",
           "mã tỉnh 2 chữ số (2025) hoặc tên tỉnh", "2-digit province code (2025) or its name",
           "24", "ma tinh", "tinh thanh"),
        _c("address", "Địa chỉ", "Address", "text", "địa chỉ", "address",
           "Thôn Bến Cầu, xã Lục Ngạn, tỉnh Bắc Ninh", "dia chi"),
        _c("phone", "Điện thoại", "Phone", "text", "không bắt buộc", "optional", "0204 3882 123",
           "so dien thoai"),
        _c("email", "Email", "Email", "text", "không bắt buộc", "optional", ""),
        _c("website", "Trang web", "Website", "text", "không bắt buộc", "optional", ""),
    ), (("kind",), ("name",), ("tax_code",), ("province_code",), ("address",))),
    "facilities": Spec("facilities", (
        _c("organization", "Tổ chức", "Organisation", "text", _ORG_REF_VI, _ORG_REF_EN,
           "2400123456", "ma so thue to chuc", "organisation"),
        _c("organization_id", "Mã tổ chức", "Organisation id", "int",
           "số id của tổ chức trong Trace (thay cho cột Tổ chức)",
           "the organisation's id in Trace (instead of Organisation)", ""),
        _c("kind", "Loại cơ sở", "Kind", "facility_kind",
           "trang trại, vườn, vùng trồng, nhà đóng gói, nhà máy, kho lạnh, kho, cửa hàng",
           "farm, orchard, growing area, packing house, factory, cold store, warehouse, shop",
           "Vườn"),
        _c("name", "Tên cơ sở", "Name", "text",
           "khóa nhận diện cùng với tổ chức khi không có GLN",
           "the key, with the organisation, when there is no GLN", "Vườn vải Phượng Hoàng"),
        _c("gln", "Mã GLN", "GLN", "text", "13 chữ số (không bắt buộc)", "13 digits (optional)",
           ""),
        _c("address", "Địa chỉ", "Address", "text", "địa chỉ", "address", "xã Lục Ngạn"),
        _c("province_code", "Tỉnh", "Province", "province", "mã hoặc tên tỉnh",
           "province code or name", "24", "ma tinh"),
        _c("commune_code", "Mã xã", "Commune code", "text", "5 chữ số (không bắt buộc)",
           "5 digits (optional)", ""),
        _c("latitude", "Vĩ độ", "Latitude", "decimal", "WGS84, dấu thập phân . hoặc ,",
           "WGS84, decimal point . or ,", "21,3891"),
        _c("longitude", "Kinh độ", "Longitude", "decimal", "WGS84", "WGS84", "106,5512"),
    ), (("organization", "organization_id"), ("kind",), ("name",), ("address",),
        ("province_code",))),
    "products": Spec("products", (
        _c("organization", "Chủ sở hữu", "Owner", "text", _ORG_REF_VI, _ORG_REF_EN,
           "2400123456", "to chuc", "organisation", "organization"),
        _c("organization_id", "Mã tổ chức", "Organisation id", "int",
           "số id của tổ chức trong Trace (thay cho cột Chủ sở hữu)",
           "the organisation's id in Trace (instead of Owner)", ""),
        _c("name_vi", "Tên sản phẩm", "Name (Vietnamese)", "text",
           "khóa nhận diện cùng chủ sở hữu khi không có GTIN",
           "the key, with the owner, when there is no GTIN", "Vải thiều Lục Ngạn"),
        _c("name_en", "Tên tiếng Anh", "Name (English)", "text", "không bắt buộc", "optional",
           "Luc Ngan lychee", "english name"),
        _c("category", "Nhóm sản phẩm", "Category", "category",
           "trái cây, rau, cà phê, chè, gạo, thủy sản, gia vị, chế biến, khác",
           "fruit, vegetable, coffee, tea, rice, seafood, condiment, processed, other",
           "Trái cây", "nhom"),
        _c("gtin", "Mã GTIN", "GTIN", "text", "8, 12, 13 hoặc 14 chữ số, đúng số kiểm tra",
           "8, 12, 13 or 14 digits with a correct check digit", "8930000000012", "ma vach"),
        _c("ocop_stars", "Số sao OCOP", "OCOP stars", "int", "1 đến 5", "1 to 5", "4", "ocop"),
        _c("geographical_indication", "Chỉ dẫn địa lý", "Geographical indication", "text",
           "không bắt buộc", "optional", "Lục Ngạn"),
        _c("standards", "Tiêu chuẩn áp dụng", "Standards", "list", "ngăn cách bằng ;",
           "separated by ;", "VietGAP; TCVN 12850:2019", "tieu chuan"),
        _c("unit", "Đơn vị tính", "Unit", "unit", "mã UN/ECE (KGM) hoặc tên (kg, tấn, hộp…)",
           "UN/ECE code (KGM) or name (kg, tonne, box…)", "kg", "don vi"),
        _c("shelf_life_days", "Hạn sử dụng (ngày)", "Shelf life (days)", "int",
           "số ngày", "days", "30", "han su dung", "shelf life"),
        _c("description_vi", "Mô tả", "Description (Vietnamese)", "text", "không bắt buộc",
           "optional", ""),
        _c("description_en", "Mô tả tiếng Anh", "Description (English)", "text",
           "không bắt buộc", "optional", ""),
    ), (("organization", "organization_id"), ("name_vi",), ("category",), ("unit",))),
    "batches": Spec("batches", (
        _c("gtin", "Mã GTIN", "GTIN", "text", "GTIN của sản phẩm", "the product's GTIN",
           "8930000000012", "ma vach"),
        _c("product_id", "Mã sản phẩm", "Product id", "int",
           "số id của sản phẩm trong Trace (thay cho GTIN)", "the product's id (instead of GTIN)",
           ""),
        _c("product", "Tên sản phẩm", "Product", "text",
           "tên sản phẩm của nhà sản xuất, khi không có GTIN",
           "the producer's product name, when there is no GTIN", "", "san pham"),
        _c("producer", "Nhà sản xuất", "Producer", "text",
           "mã số thuế hoặc GLN; mặc định: tổ chức của token hoặc chủ sản phẩm",
           "tax code or GLN; default: the token's organisation or the product's owner",
           "", "nha san xuat", "ma so thue nha san xuat"),
        _c("producer_id", "Mã nhà sản xuất", "Producer id", "int", "số id (thay cho cột trên)",
           "id (instead of Producer)", ""),
        _c("lot_code", "Số lô", "Lot code", "text", "mã lô (GS1 AI 10), tối đa 20 ký tự",
           "lot code (GS1 AI 10), up to 20 characters", "LN2026-001", "lo", "ma lo", "lot"),
        _c("quantity", "Số lượng", "Quantity", "decimal", "dấu thập phân . hoặc ,",
           "decimal point . or ,", "1250,5", "khoi luong"),
        _c("unit", "Đơn vị tính", "Unit", "unit", "mặc định: đơn vị của sản phẩm",
           "default: the product's unit", "kg", "don vi"),
        _c("production_date", "Ngày sản xuất", "Production date", "date",
           "dd/mm/yyyy hoặc yyyy-mm-dd", "dd/mm/yyyy or yyyy-mm-dd", "12/06/2026",
           "ngay thu hoach", "harvest date"),
        _c("expiry_date", "Ngày hết hạn", "Expiry date", "date",
           "mặc định: theo hạn sử dụng của sản phẩm", "default: from the product's shelf life",
           "", "han su dung"),
        _c("origin_facility", "Cơ sở sản xuất", "Origin facility", "text",
           "GLN hoặc tên cơ sở của nhà sản xuất", "GLN or name of the producer's facility", "",
           "vung trong", "noi san xuat"),
        _c("origin_facility_id", "Mã cơ sở sản xuất", "Origin facility id", "int",
           "số id (thay cho cột trên)", "id (instead of Origin facility)", ""),
        _c("certifications", "Chứng nhận", "Certifications", "list", "ngăn cách bằng ;",
           "separated by ;", "VietGAP", "chung nhan"),
    ), (("gtin", "product_id", "product"), ("lot_code",), ("quantity",),
        ("production_date",))),
    "events": Spec("events", (
        _c("lot_code", "Số lô", "Lot code", "text", "số lô của lô hàng", "the batch's lot code",
           "LN2026-001", "lo", "ma lo", "lot"),
        _c("gtin", "Mã GTIN", "GTIN", "text", "GTIN của sản phẩm của lô",
           "the GTIN of the batch's product", "8930000000012", "ma vach"),
        _c("product_id", "Mã sản phẩm", "Product id", "int", "số id (thay cho GTIN)",
           "id (instead of GTIN)", ""),
        _c("batch_id", "Mã lô hàng", "Batch id", "int", "số id (thay cho số lô và GTIN)",
           "id (instead of lot code and GTIN)", ""),
        _c("stage", "Công đoạn", "Stage", "stage",
           "thu hoạch, đóng gói, bảo quản, vận chuyển, nhận hàng, chế biến… (hoặc mã CBV)",
           "harvesting, packing, storing, shipping, receiving, processing… (or the CBV code)",
           "Thu hoạch", "cong doan", "buoc"),
        _c("time", "Thời gian", "Time", "datetime",
           "dd/mm/yyyy hh:mm hoặc ISO 8601; giờ Việt Nam (+07:00) khi không ghi múi giờ",
           "dd/mm/yyyy hh:mm or ISO 8601; Vietnam time (+07:00) without an offset",
           "12/06/2026 06:30", "thoi diem", "ngay gio"),
        _c("facility", "Địa điểm", "Place", "text",
           "GLN hoặc tên cơ sở (của nhà sản xuất lô, hoặc của tổ chức ghi)",
           "GLN or name of a facility (the batch producer's, or the recorder's)",
           "Vườn vải Phượng Hoàng", "co so", "dia diem"),
        _c("facility_id", "Mã địa điểm", "Place id", "int", "số id (thay cho cột trên)",
           "id (instead of Place)", ""),
        _c("quantity", "Số lượng", "Quantity", "decimal", "dấu thập phân . hoặc ,",
           "decimal point . or ,", "1250", "khoi luong"),
        _c("unit", "Đơn vị tính", "Unit", "unit", "mặc định: đơn vị của lô",
           "default: the batch's unit", "kg", "don vi"),
        _c("note", "Ghi chú", "Note", "text", "không bắt buộc", "optional", ""),
        _c("to_organization", "Bên nhận", "Receiving organisation", "text",
           "mã số thuế hoặc GLN của bên nhận (vận chuyển, bán)",
           "tax code or GLN of the receiver (shipping, selling)", "", "ben nhan", "noi nhan"),
        _c("to_organization_id", "Mã bên nhận", "Receiving organisation id", "int",
           "số id (thay cho cột trên)", "id (instead of Receiving organisation)", ""),
        _c("inputs", "Lô nguyên liệu", "Input lots", "list",
           "chế biến: số lô đầu vào, ngăn cách bằng ; (GTIN/số lô khi trùng)",
           "processing: input lot codes separated by ; (GTIN/lot when ambiguous)", "",
           "nguyen lieu", "inputs"),
    ), (("lot_code", "batch_id"), ("stage",), ("time",))),
}  # fmt: skip


def _header_key(text: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", text)
    return " ".join(fold(text).replace("_", " ").replace("-", " ").split())


def header_map(spec: Spec) -> dict[str, str]:
    """Folded header -> column name."""
    found: dict[str, str] = {}
    for column in spec.columns:
        for text in (column.name, column.vi, column.en, *column.aliases):
            found.setdefault(_header_key(text), column.name)
    return found


def match_headers(spec: Spec, header: list[str]) -> tuple[list[str | None], list[str]]:
    """The column name of each header cell (None when blank) and the problems: unknown,
    repeated and missing columns."""
    known = header_map(spec)
    names: list[str | None] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for cell in header:
        if not cell:
            names.append(None)
            continue
        name = known.get(_header_key(cell))
        if name is None:
            problems.append(f"unknown column {cell!r}")
        elif name in seen:
            problems.append(f"columns {seen[name]!r} and {cell!r} are the same column ({name})")
        else:
            seen[name] = cell
        names.append(name)
    for group in spec.required:
        if not any(name in seen for name in group):
            columns = spec.by_name()
            labels = " or ".join(f"{name} ({columns[name].vi})" for name in group)
            problems.append(f"missing required column {labels}")
    return names, problems


def _value_map(pairs: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(alias): value for value, aliases in pairs.items() for alias in (value, *aliases)}


VALUE_MAPS: dict[str, dict[str, str]] = {
    "organization_kind": _value_map({
        "centre": ("trung tâm", "center"), "producer": ("nhà sản xuất", "cơ sở sản xuất"),
        "cooperative": ("hợp tác xã", "htx"), "processor": ("cơ sở chế biến", "nhà chế biến"),
        "distributor": ("nhà phân phối", "phân phối"), "retailer": ("nhà bán lẻ", "bán lẻ"),
        "inspection_agency": ("cơ quan kiểm tra", "inspection agency"),
    }),
    "facility_kind": _value_map({
        "farm": ("trang trại",), "orchard": ("vườn", "vườn cây"),
        "growing_area": ("vùng trồng", "growing area"),
        "packing_house": ("nhà đóng gói", "cơ sở đóng gói", "packing house"),
        "factory": ("nhà máy", "xưởng"), "cold_store": ("kho lạnh", "cold store"),
        "warehouse": ("kho",), "shop": ("cửa hàng",),
    }),
    "category": _value_map({
        "fruit": ("trái cây", "hoa quả"), "vegetable": ("rau", "rau củ"),
        "coffee": ("cà phê",), "tea": ("chè", "trà"), "rice": ("gạo", "lúa gạo"),
        "seafood": ("thủy sản", "hải sản", "thuỷ sản"), "condiment": ("gia vị",),
        "processed": ("chế biến", "thực phẩm chế biến"), "other": ("khác",),
    }),
    "unit": _value_map({
        code: (vi, en, *({"KGM": ("kg",), "GRM": ("g",), "TNE": ("tan", "ton", "t"),
                         "LTR": ("l", "lit"), "MLT": ("ml",)}.get(code, ())))
        for code, (vi, en) in UNITS.items()
    }),
    "province": _value_map({code: (name, f"tỉnh {name}", f"thành phố {name}")
                            for code, name in PROVINCES.items()}),
    "stage": _value_map({
        stage: tuple(
            name
            for source in (cbv.STAGE_NAMES.get(stage), cbv.EXTENSION_STAGE_NAMES.get(
                cbv.EXTENSION_NS + stage))
            if source
            for name in source.values()
        ) + {"packing": ("đóng gói",), "storing": ("bảo quản", "lưu kho"),
             "shipping": ("vận chuyển", "xuất hàng", "giao hàng"),
             "receiving": ("nhận hàng",), "retail_selling": ("bán lẻ",),
             "inspecting": ("kiểm tra",)}.get(stage, ())
        for stage in STAGES
    }),
}  # fmt: skip

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def convert(column: Column, text: str) -> Any:
    """The cell's value as the API's schema loads it; what cannot be converted is passed as
    written, for the schema to name what is wrong."""
    kind = column.type
    if kind == "int":
        return int(text) if re.fullmatch(r"[+-]?\d{1,12}", text) else text
    if kind == "decimal":
        if "," in text and "." not in text and text.count(",") == 1:
            return text.replace(",", ".")
        return text
    if kind in ("date", "datetime"):
        match = _DMY.match(text)
        if match:
            day, month, year, hour, minute, second = match.groups()
            date = f"{year}-{int(month):02d}-{int(day):02d}"
            if kind == "date" or hour is None:
                return date if kind == "date" else f"{date}T00:00:00"
            return f"{date}T{int(hour):02d}:{minute}:{second or '00'}"
        if kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]00:00(:00)?", text):
            return text[:10]
        if kind == "datetime" and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d.*", text):
            return text.replace(" ", "T", 1)
        return text
    if kind == "list":
        return [part.strip() for part in text.split(";") if part.strip()]
    if kind == "province" and text.isdigit() and len(text) == 1:
        return text.zfill(2)
    values = VALUE_MAPS.get(kind)
    if values is not None:
        return values.get(fold(text), text)
    return text
