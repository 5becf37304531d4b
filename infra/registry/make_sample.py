"""Writes infra/registry/vn-sample.json, the sample registry.

Run: python infra/registry/make_sample.py

Shape mirrors Vietnam's NDXP (see ../shared/DOMAIN.md): 22 ministries (G codes) and
63 provinces (H codes) each with a connected LGSP, the national databases and
systems as connected members with their services, units at levels 2-4 below
some of them, enterprises (member class COM) and a few members not yet connected.

Real codes, from public code of Vietnamese agencies: 000.00.00.G22 Government Office,
000.00.00.G12 Ministry of Finance, 000.00.00.G17 Ministry of Construction,
000.00.00.G09 Ministry of Home Affairs, 000.00.00.H41 Nghệ An, 000.00.18.G12 General
Department of Taxation. Every other code-to-name pairing is synthetic and marked so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REAL_MINISTRIES = {
    "G09": "Bộ Nội vụ (Ministry of Home Affairs)",
    "G12": "Bộ Tài chính (Ministry of Finance)",
    "G17": "Bộ Xây dựng (Ministry of Construction)",
    "G22": "Văn phòng Chính phủ (Government Office)",
}
OTHER_MINISTRIES = [
    "Bộ Công an (Ministry of Public Security)",
    "Bộ Quốc phòng (Ministry of National Defence)",
    "Bộ Ngoại giao (Ministry of Foreign Affairs)",
    "Bộ Tư pháp (Ministry of Justice)",
    "Bộ Kế hoạch và Đầu tư (Ministry of Planning and Investment)",
    "Bộ Công Thương (Ministry of Industry and Trade)",
    "Bộ Nông nghiệp và Phát triển nông thôn (Ministry of Agriculture)",
    "Bộ Giao thông vận tải (Ministry of Transport)",
    "Bộ Tài nguyên và Môi trường (Ministry of Natural Resources and Environment)",
    "Bộ Thông tin và Truyền thông (Ministry of Information and Communications)",
    "Bộ Lao động - Thương binh và Xã hội (Ministry of Labour, Invalids and Social Affairs)",
    "Bộ Văn hóa, Thể thao và Du lịch (Ministry of Culture, Sports and Tourism)",
    "Bộ Khoa học và Công nghệ (Ministry of Science and Technology)",
    "Bộ Giáo dục và Đào tạo (Ministry of Education and Training)",
    "Bộ Y tế (Ministry of Health)",
    "Ủy ban Dân tộc (Committee for Ethnic Minority Affairs)",
    "Ngân hàng Nhà nước Việt Nam (State Bank of Vietnam)",
    "Thanh tra Chính phủ (Government Inspectorate)",
]
PROVINCES = [
    "An Giang",
    "Bà Rịa - Vũng Tàu",
    "Bắc Giang",
    "Bắc Kạn",
    "Bạc Liêu",
    "Bắc Ninh",
    "Bến Tre",
    "Bình Định",
    "Bình Dương",
    "Bình Phước",
    "Bình Thuận",
    "Cà Mau",
    "Cần Thơ",
    "Cao Bằng",
    "Đà Nẵng",
    "Đắk Lắk",
    "Đắk Nông",
    "Điện Biên",
    "Đồng Nai",
    "Đồng Tháp",
    "Gia Lai",
    "Hà Giang",
    "Hà Nam",
    "Hà Nội",
    "Hà Tĩnh",
    "Hải Dương",
    "Hải Phòng",
    "Hậu Giang",
    "Hòa Bình",
    "Hưng Yên",
    "Khánh Hòa",
    "Kiên Giang",
    "Kon Tum",
    "Lai Châu",
    "Lâm Đồng",
    "Lạng Sơn",
    "Lào Cai",
    "Long An",
    "Nam Định",
    "Ninh Bình",
    "Ninh Thuận",
    "Phú Thọ",
    "Phú Yên",
    "Quảng Bình",
    "Quảng Nam",
    "Quảng Ngãi",
    "Quảng Ninh",
    "Quảng Trị",
    "Sóc Trăng",
    "Sơn La",
    "Tây Ninh",
    "Thái Bình",
    "Thái Nguyên",
    "Thanh Hóa",
    "Thừa Thiên Huế",
    "Tiền Giang",
    "TP. Hồ Chí Minh",
    "Trà Vinh",
    "Tuyên Quang",
    "Vĩnh Long",
    "Vĩnh Phúc",
    "Yên Bái",
]  # 62 names; Nghệ An is H41 (real), the rest are paired with codes synthetically.


def svc(code: str, name: str, version: str | None = "v1") -> dict[str, object]:
    out: dict[str, object] = {"code": code, "name": name}
    if version:
        out["version"] = version
    return out


def member(
    code: str,
    name: str,
    kind: str,
    *,
    connected: bool,
    synthetic: bool,
    subsystems: list[dict[str, object]],
    member_class: str = "GOV",
) -> dict[str, object]:
    return {
        "id": f"VN:{member_class}:{code}",
        "name": name,
        "kind": kind,
        "connected": connected,
        "synthetic": synthetic,
        "subsystems": subsystems,
    }


def ministries() -> tuple[list[dict[str, object]], dict[str, str]]:
    names = iter(OTHER_MINISTRIES)
    out, by_name = [], {}
    for n in range(1, 23):
        code = f"G{n:02d}"
        real = code in REAL_MINISTRIES
        name = REAL_MINISTRIES[code] if real else next(names)
        by_name[name.split(" (")[1].rstrip(")")] = code
        out.append(
            member(
                f"000.00.00.{code}",
                name,
                "ministry_platform",
                connected=True,
                synthetic=not real,
                subsystems=[
                    {
                        "code": "lgsp",
                        "name": "LGSP bộ/ngành (ministry integration platform)",
                        "services": [
                            svc("tiep-nhan-van-ban", "Tiếp nhận văn bản (receive documents)")
                        ],
                    },
                    {"code": "dvc", "name": "Cổng dịch vụ công bộ/ngành (public-service portal)"},
                ],
            )
        )
    return out, by_name


def provinces() -> list[dict[str, object]]:
    names = iter(PROVINCES)
    out = []
    for n in range(1, 64):
        code = f"H{n:02d}"
        real = code == "H41"
        name = "Tỉnh Nghệ An (Nghệ An province)" if real else f"Tỉnh/TP {next(names)}"
        out.append(
            member(
                f"000.00.00.{code}",
                name,
                "province_platform",
                connected=True,
                synthetic=not real,
                subsystems=[
                    {
                        "code": "lgsp",
                        "name": "LGSP tỉnh (province integration platform)",
                        "services": [svc("tiep-nhan-ho-so", "Tiếp nhận hồ sơ liên thông")],
                    },
                    {"code": "motcua", "name": "Hệ thống một cửa điện tử (one-stop-shop system)"},
                    {"code": "dvc", "name": "Cổng dịch vụ công tỉnh (public-service portal)"},
                    {
                        "code": "datdai",
                        "name": "Hệ thống thông tin đất đai (land information system)",
                        "services": [svc("thong-tin-thua-dat", "Thông tin thửa đất (land parcel)")],
                    },
                ],
            )
        )
    return out


def national(m: dict[str, str]) -> list[dict[str, object]]:
    """National databases and systems, as connected level-2 units of their ministries."""

    def unit(ministry: str, n: int) -> str:
        return f"000.00.{n:02d}.{m[ministry]}"

    return [
        member(
            unit("Ministry of Public Security", 1),
            "Cơ sở dữ liệu quốc gia về dân cư (national population database)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "dancu",
                    "name": "CSDLQG về dân cư",
                    "services": [
                        svc("tra-cuu-cong-dan", "Tra cứu thông tin công dân (citizen lookup)"),
                        svc("xac-thuc-cong-dan", "Xác thực thông tin công dân (verify citizen)"),
                        svc("tra-cuu-ho-gia-dinh", "Tra cứu hộ gia đình (household lookup)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Justice", 1),
            "Cơ sở dữ liệu hộ tịch điện tử (civil status database)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "hotich",
                    "name": "CSDL hộ tịch",
                    "services": [
                        svc("tra-cuu-khai-sinh", "Tra cứu khai sinh (birth record)"),
                        svc("tra-cuu-ket-hon", "Tra cứu kết hôn (marriage record)"),
                        svc("tra-cuu-khai-tu", "Tra cứu khai tử (death record)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Natural Resources and Environment", 1),
            "Cơ sở dữ liệu quốc gia về đất đai (national land database)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "datdai",
                    "name": "CSDLQG về đất đai",
                    "services": [
                        svc("tra-cuu-thua-dat", "Tra cứu thửa đất (land parcel lookup)"),
                        svc("bien-dong-dat-dai", "Biến động đất đai (land changes)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Planning and Investment", 1),
            "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp (business registration)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "dkdn",
                    "name": "Hệ thống đăng ký doanh nghiệp",
                    "services": [
                        svc("tra-cuu-doanh-nghiep", "Tra cứu doanh nghiệp (company lookup)"),
                        svc("thay-doi-dang-ky", "Thay đổi đăng ký (registration changes)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Labour, Invalids and Social Affairs", 1),
            "Cơ sở dữ liệu quốc gia về bảo hiểm (national insurance database)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "baohiem",
                    "name": "CSDLQG về bảo hiểm",
                    "services": [
                        svc("tra-cuu-bhxh", "Tra cứu quá trình đóng BHXH (social insurance)"),
                        svc("tra-cuu-the-bhyt", "Tra cứu thẻ BHYT (health insurance card)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Home Affairs", 1),
            "Cơ sở dữ liệu quốc gia về cán bộ, công chức, viên chức (officials database)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "cbccvc",
                    "name": "CSDLQG về CBCCVC",
                    "services": [
                        svc("tra-cuu-can-bo", "Tra cứu cán bộ (official lookup)"),
                    ],
                }
            ],
        ),
        member(
            unit("Ministry of Labour, Invalids and Social Affairs", 2),
            "Cơ sở dữ liệu đăng ký trợ giúp xã hội (social-assistance registration)",
            "national_database",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "anxinh",
                    "name": "CSDL an sinh xã hội",
                    "services": [
                        svc("tra-cuu-tro-giup", "Tra cứu đối tượng trợ giúp xã hội"),
                    ],
                }
            ],
        ),
        member(
            "000.00.18.G12",
            "Tổng cục Thuế (General Department of Taxation)",
            "national_system",
            connected=True,
            synthetic=False,
            subsystems=[
                {
                    "code": "thue",
                    "name": "Cổng trao đổi thông tin thuế quốc gia",
                    "services": [
                        svc("tra-cuu-mst", "Tra cứu mã số thuế (tax code lookup)"),
                        svc("nghia-vu-tai-chinh", "Nghĩa vụ tài chính đất đai (land tax duty)"),
                    ],
                }
            ],
        ),
        member(
            unit("Government Office", 1),
            "Trục liên thông văn bản quốc gia (national document exchange axis)",
            "national_system",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "vbdh",
                    "name": "Trục liên thông văn bản",
                    "services": [
                        svc("gui-van-ban", "Gửi văn bản điện tử (send document)", None),
                    ],
                }
            ],
        ),
        member(
            unit("Government Office", 2),
            "Cổng Dịch vụ công quốc gia (national public-service portal)",
            "national_system",
            connected=True,
            synthetic=True,
            subsystems=[
                {
                    "code": "dvcqg",
                    "name": "Cổng DVCQG",
                    "services": [
                        svc("dong-bo-ho-so", "Đồng bộ hồ sơ (case synchronisation)"),
                    ],
                },
                {
                    "code": "dongbo",
                    "name": "Đồng bộ trạng thái hồ sơ (application status sync)",
                    "services": [
                        {
                            **svc(
                                "trang-thai-ho-so",
                                "Đồng bộ trạng thái hồ sơ (an application's status, one-way)",
                            ),
                            "one_way": True,
                        },
                    ],
                },
            ],
        ),
    ]


def units() -> list[dict[str, object]]:
    """Units below connected members (levels 2-4), not connected themselves."""
    return [
        member(
            "000.00.01.H41",
            "Sở Tư pháp tỉnh Nghệ An (Justice Department)",
            "unit",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "hotich",
                    "name": "Phần mềm hộ tịch tỉnh",
                    "services": [
                        svc("xac-nhan-tinh-trang-hon-nhan", "Xác nhận tình trạng hôn nhân"),
                    ],
                }
            ],
        ),
        member(
            "000.01.01.H41",
            "Phòng Tư pháp TP Vinh (city justice office)",
            "unit",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "motcua",
                    "name": "Một cửa cấp huyện",
                    "services": [
                        svc("chung-thuc", "Chứng thực bản sao (certified copies)"),
                    ],
                }
            ],
        ),
        member(
            "001.01.01.H41",
            "UBND phường Lê Lợi (ward people's committee)",
            "unit",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "motcua",
                    "name": "Một cửa cấp xã",
                    "services": [
                        svc("xac-nhan-cu-tru", "Xác nhận cư trú (residence confirmation)"),
                    ],
                }
            ],
        ),
        member(
            "000.41.18.G12",
            "Cục Thuế tỉnh Nghệ An (provincial tax department)",
            "unit",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "tms",
                    "name": "Hệ thống quản lý thuế",
                    "services": [
                        svc("to-khai-le-phi-truoc-ba", "Tờ khai lệ phí trước bạ"),
                    ],
                }
            ],
        ),
        member(
            "000.00.05.G17",
            "Cục Quản lý nhà và thị trường BĐS (housing department)",
            "unit",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "nhao",
                    "name": "CSDL nhà ở",
                    "services": [
                        svc("tra-cuu-nha-o", "Tra cứu thông tin nhà ở"),
                    ],
                }
            ],
        ),
    ]


def outsiders() -> list[dict[str, object]]:
    """Enterprises (class COM) and agencies that are not connected yet."""
    com = [
        ("0100100079", "Tập đoàn Điện lực Việt Nam (EVN, power utility)", True),
        ("0100109106", "Viettel (telecom operator)", True),
        ("0100684378", "VNPT (telecom operator)", True),
        ("0100686209", "MobiFone (telecom operator)", True),
        ("0312345678", "Công ty mẫu chưa kết nối (sample enterprise, not connected)", False),
    ]
    out = [
        member(
            code,
            name,
            "enterprise",
            connected=connected,
            synthetic=True,
            member_class="COM",
            subsystems=[
                {
                    "code": "xacthuc",
                    "name": "Hệ thống xác thực khách hàng",
                    "services": [svc("thong-bao-thue-bao", "Thông báo thuê bao")],
                }
            ],
        )
        for code, name, connected in com
    ]
    out.append(
        member(
            "000.00.00.K01",
            "Cơ quan mẫu chưa kết nối (agency not yet connected)",
            "national_system",
            connected=False,
            synthetic=True,
            subsystems=[
                {
                    "code": "hethong",
                    "name": "Hệ thống chưa kết nối",
                    "services": [svc("tra-cuu", "Tra cứu")],
                }
            ],
        )
    )
    return out


GOV_KINDS = [
    "ministry_platform",
    "province_platform",
    "national_database",
    "national_system",
    "unit",
]
GROUPS = [
    {
        "name": "provinces",
        "kinds": ["province_platform"],
        "descendants": True,
        "description": "the 63 provinces and every unit below them",
    },
    {
        "name": "ministries",
        "kinds": ["ministry_platform"],
        "descendants": True,
        "description": "the 22 ministries and every unit below them",
    },
    {
        "name": "national-systems",
        "kinds": ["national_database", "national_system"],
        "descendants": True,
    },
    {
        "name": "all-gov",
        "kinds": GOV_KINDS,
        "descendants": True,
        "description": "every government agency",
    },
    {
        "name": "telecoms-and-utilities",
        "members": [
            "VN:COM:0100100079",
            "VN:COM:0100109106",
            "VN:COM:0100684378",
            "VN:COM:0100686209",
        ],
    },
]
# Which groups may call each national service family (subsystem code -> groups).
FAMILY_GRANTS = {
    "dancu": ["provinces", "ministries", "national-systems"],
    "hotich": ["provinces", "ministries"],
    "datdai": ["provinces", "ministries", "national-systems"],
    "dkdn": ["all-gov"],
    "baohiem": ["provinces", "ministries"],
    "cbccvc": ["ministries", "provinces"],
    "anxinh": ["provinces"],
    "thue": ["provinces", "ministries", "national-systems"],
    "vbdh": ["all-gov"],
    "dvcqg": ["provinces", "ministries"],
    "dongbo": ["provinces", "ministries"],  # status syncs: every one-stop shop sends them
}


def access(members: list[dict[str, Any]]) -> list[dict[str, object]]:
    """Hundreds of grants: national services to groups, provinces' land data to the tax
    authority and the national land database, units' services to their province."""
    grants: list[dict[str, object]] = []
    for m in members:
        for sub in m["subsystems"]:
            for s in sub.get("services", []):
                sid = f"{m['id']}:{sub['code']}:{s['code']}" + (
                    f":{s['version']}" if "version" in s else ""
                )
                if m["kind"] in ("national_database", "national_system"):
                    for group in FAMILY_GRANTS.get(sub["code"], ["all-gov"]):
                        grants.append({"service": sid, "group": group})
                    if sub["code"] == "dancu" and "xac-thuc" in s["code"]:
                        grants.append({"service": sid, "group": "telecoms-and-utilities"})
                elif m["kind"] == "province_platform" and sub["code"] == "datdai":
                    grants.append({"service": sid, "member": m["id"], "descendants": True})
                    grants.append(
                        {"service": sid, "member": "VN:GOV:000.00.18.G12", "descendants": True}
                    )
                    grants.append({"service": sid, "group": "national-systems"})
                elif m["kind"] == "unit":
                    top = "VN:GOV:000.00.00." + m["id"].rsplit(".", 1)[1]
                    grants.append({"service": sid, "member": top, "descendants": True})
                    if m["id"].endswith("G12"):
                        grants.append({"service": sid, "group": "provinces"})
                elif m["kind"] == "enterprise":
                    grants.append({"service": sid, "group": "national-systems"})
                else:
                    grants.append({"service": sid, "group": "all-gov"})
    return grants


POP = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"
LIMITS = [
    {
        "name": "gov-overall",
        "group": "all-gov",
        "rate": 10000,
        "burst": 20000,
        "daily": 20000000,
        # the bytes the router writes for a client (a document's once per receiver): 32 MiB a
        # second after 256 MiB; two 700 KiB documents a second to all 92 connected agencies
        # (a hostile run) are 128 MiB a second of copies
        "bytes_rate": 32 * 1024 * 1024,
        "bytes_burst": 256 * 1024 * 1024,
    },
    {
        # deliveries a client may open a day (a document costs one per receiver): the router
        # keeps a delivery's state until it is finished and 7 days old, or 30 days without a
        # status (NDXP_DOC_OPEN_DAYS), so this caps a client's share of that state at 1.5 M;
        # the whole axis delivered 11,700 a day in its busiest month (March 2022)
        "name": "gov-documents",
        "group": "all-gov",
        "documents": True,
        "daily": 50000,
    },
    {
        "name": "companies-overall",
        "group": "telecoms-and-utilities",
        "rate": 200,
        "burst": 400,
        "daily": 2000000,
    },
    {
        "name": "provinces-citizen-lookup",
        "group": "provinces",
        "service": POP,
        "rate": 5000,
        "burst": 10000,
        "daily": 5000000,
    },
    {
        "name": "nghe-an-one-stop-citizen-lookup",
        "subsystem": "VN:GOV:000.00.00.H41:motcua",
        "service": POP,
        "rate": 2000,
        "burst": 4000,
        "daily": 2000000,
    },
    {
        "name": "ministries-land",
        "group": "ministries",
        "service": "VN:GOV:000.00.01.G10:datdai:tra-cuu-thua-dat:v1",
        "rate": 200,
        "burst": 400,
        "daily": 500000,
    },
]


# Subsystems reached over HTTP (`ndxp provide` calls them; `ndxp simulate --http` serves them on
# :9300), granted to Nghệ An and the units below it; outside the traffic mix's families, so the
# benches' and load tests' mix does not include them.
REST_APIS = [  # (member code, path on the simulator, service code, name, service settings)
    (
        "000.00.00.H40",
        "motcua",
        "ho-so",
        "Tiếp nhận hồ sơ một cửa qua REST (one-stop-shop case intake, REST API)",
        {"timeout_s": 5},
    ),
    (
        "000.00.00.H41",
        "datdai",
        "thua-dat",
        "Tra cứu thửa đất qua REST (parcel lookup, REST API)",
        {},
    ),
    (
        "000.00.01.G01",
        "dancu",
        "cong-dan",
        "Tra cứu công dân qua REST (citizen lookup, REST API)",
        {},
    ),
    (
        "000.00.18.G12",
        "thue",
        "nghia-vu-tai-chinh",
        "Nghĩa vụ tài chính chuyển nhượng đất qua REST (land-transfer obligations, REST API)",
        {},
    ),
]
REST_CALLERS = "VN:GOV:000.00.00.H41"
REST_GRANT_ORDER = ("000.00.01.G01", "000.00.00.H41", "000.00.18.G12", "000.00.00.H40")

# The population lookup declares its timeout and its OpenAPI document (getOpenAPI).
CITIZEN_LOOKUP = ("000.00.01.G01", "dancu", "tra-cuu-cong-dan")
CITIZEN_LOOKUP_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Tra cứu thông tin công dân (citizen lookup)", "version": "v1"},
    "paths": {
        "/cong-dan": {
            "post": {
                "summary": "A citizen's record by personal id (so_dinh_danh, 12 digits)",
                "parameters": [
                    {
                        "name": "so_dinh_danh",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{12}$"},
                    }
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "ly_do": {
                                        "type": "string",
                                        "description": "the case the lookup is for",
                                    }
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": {
                        "description": "the citizen's record",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "404": {"description": "no citizen with that id"},
                },
            }
        }
    },
}


def rest_apis(members: list[dict[str, Any]]) -> list[dict[str, object]]:
    """Adds the REST API subsystems and the citizen lookup's description to ``members``;
    returns their grants."""
    by_code = {str(m["id"]).rsplit(":", 1)[1]: m for m in members}
    services: dict[str, str] = {}
    for code, path, service, name, extra in REST_APIS:
        by_code[code]["subsystems"].append(
            {
                "code": "api",
                "name": "REST API (ndxp provide calls it over HTTP; "
                "ndxp simulate --http serves it locally)",
                "http": {
                    "url": f"http://127.0.0.1:9300/{path}",
                    "concurrency": 32,
                    "timeout_s": 10,
                },
                "services": [{**svc(service, name), **extra}],
            }
        )
        services[code] = f"VN:GOV:{code}:api:{service}:v1"
    code, subsystem, service = CITIZEN_LOOKUP
    [lookup] = [
        v
        for s in by_code[code]["subsystems"]
        if s["code"] == subsystem
        for v in s["services"]
        if v["code"] == service
    ]
    lookup.update({"timeout_s": 10, "openapi": CITIZEN_LOOKUP_OPENAPI})
    return [
        {"service": services[code], "member": REST_CALLERS, "descendants": True}
        for code in REST_GRANT_ORDER
    ]


def main() -> None:
    ms, by_name = ministries()
    members = ms + provinces() + national(by_name) + units() + outsiders()
    grants = access(members)  # by family, before the REST APIs (granted to Nghệ An only)
    grants += rest_apis(members)
    doc = {
        "$schema": "../../schemas/registry.schema.json",
        "version": "vn-sample-2",
        "instance": "VN",
        "description": "Sample registry shaped like Vietnam's NDXP; codes marked synthetic "
        "are illustrative, not the official assignment.",
        "default_access": "deny",
        "members": members,
        "groups": GROUPS,
        "access": grants,
        "limits": LIMITS,
    }
    path = Path(__file__).with_name("vn-sample.json")
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        f"wrote {path} ({len(doc['members'])} members, {len(doc['access'])} grants, "
        f"{len(doc['limits'])} limits)"
    )


if __name__ == "__main__":
    main()
