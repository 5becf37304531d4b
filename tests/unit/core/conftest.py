from typing import Any

import pytest

from ndxp.core.registry import Registry


def small_document() -> dict[str, Any]:
    """A registry in miniature: two provinces, a ministry with a connected national
    database (level 2), units at levels 2-4 below a province, a level-3 unit below the
    database, an enterprise, and an agency that is not connected."""
    return {
        "version": "test-1",
        "default_access": "allow",
        "groups": [{"name": "provinces", "kinds": ["province_platform"], "descendants": True}],
        "access": [
            # the population database's v2 is granted; a service without grants is open
            {"service": "VN:GOV:000.00.01.G01:dancu:tra-cuu:v2", "group": "provinces"},
            {
                "service": "VN:GOV:000.00.01.G01:dancu:tra-cuu:v2",
                "subsystem": "VN:COM:0100109106:xacthuc",
            },
            # the city office's service: the province itself only, not its units
            {"service": "VN:GOV:000.01.01.H41:motcua:chung-thuc", "member": "VN:GOV:000.00.00.H41"},
        ],
        "members": [
            {
                "id": "VN:GOV:000.00.00.H41",
                "name": "Nghệ An",
                "kind": "province_platform",
                "connected": True,
                "subsystems": [
                    {"code": "motcua", "services": [{"code": "tiep-nhan", "version": "v1"}]}
                ],
            },
            {
                "id": "VN:GOV:000.00.00.H42",
                "name": "Hà Tĩnh",
                "kind": "province_platform",
                "connected": True,
                "subsystems": [{"code": "motcua"}],
            },
            {
                "id": "VN:GOV:000.00.00.G01",
                "name": "Bộ Công an",
                "kind": "ministry_platform",
                "connected": True,
                "subsystems": [{"code": "lgsp"}],
            },
            {
                "id": "VN:GOV:000.00.01.G01",
                "name": "CSDLQG dân cư",
                "kind": "national_database",
                "connected": True,
                "subsystems": [
                    {
                        "code": "dancu",
                        "services": [
                            {"code": "tra-cuu", "version": "v1"},
                            {"code": "tra-cuu", "version": "v2"},
                        ],
                    }
                ],
            },
            {
                "id": "VN:GOV:000.05.01.G01",
                "name": "Trung tâm dữ liệu",
                "kind": "unit",
                "subsystems": [{"code": "dl", "services": [{"code": "thong-ke"}]}],
            },
            {
                "id": "VN:GOV:000.00.01.H41",
                "name": "Sở Tư pháp",
                "kind": "unit",
                "subsystems": [{"code": "hotich", "services": [{"code": "xac-nhan"}]}],
            },
            {
                "id": "VN:GOV:000.01.01.H41",
                "name": "Phòng Tư pháp",
                "kind": "unit",
                "subsystems": [{"code": "motcua", "services": [{"code": "chung-thuc"}]}],
            },
            {
                "id": "VN:GOV:001.01.01.H41",
                "name": "UBND phường",
                "kind": "unit",
                "subsystems": [{"code": "motcua", "services": [{"code": "cu-tru"}]}],
            },
            {
                "id": "VN:COM:0100109106",
                "name": "Viettel",
                "kind": "enterprise",
                "connected": True,
                "subsystems": [{"code": "xacthuc"}],
            },
            {
                "id": "VN:GOV:000.00.00.K01",
                "name": "Not connected",
                "kind": "national_system",
                "subsystems": [{"code": "ht", "services": [{"code": "tra-cuu"}]}],
            },
        ],
    }


@pytest.fixture
def registry() -> Registry:
    return Registry.from_document(small_document())
