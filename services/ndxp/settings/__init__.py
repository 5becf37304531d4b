"""Settings: one frozen object per service (router, ledger, gateway, provider adapter) and one
for the client commands, read once at start and passed down (names in :mod:`ndxp.env`; how
they are read: :mod:`ndxp.settings.reading`)."""

from ndxp.settings.client import ClientSettings
from ndxp.settings.gateway import GatewaySettings
from ndxp.settings.ledger import LedgerSettings
from ndxp.settings.provider import ProviderSettings
from ndxp.settings.reading import SettingsError
from ndxp.settings.router import DeliveryMode, QuotaStageMode, RouterSettings

__all__ = [
    "ClientSettings",
    "DeliveryMode",
    "GatewaySettings",
    "LedgerSettings",
    "ProviderSettings",
    "QuotaStageMode",
    "RouterSettings",
    "SettingsError",
]
