"""Services of the webhooks app, split by sub-domain: `keys` (API keys, inbound secrets), `destinations`
(where summaries go), `deliveries` (sending them, retried and logged).

The key services are re-exported here because the API's authentication imports them while DRF is still
loading: this package must stay light, so it does not import the destination or delivery modules (they
reach the Discord client and the summaries app); import those by their module name.
"""

from webhooks.services.keys import (
    INBOUND_SECRET_PREFIX,
    KEY_PREFIX,
    LAST_USED_RESOLUTION,
    AuthenticationFailed,
    IssuedKey,
    IssuedSecret,
    api_key_authenticate,
    api_key_issue,
    api_key_revoke,
    inbound_secret_create,
    inbound_secret_revoke,
)

__all__ = [
    "INBOUND_SECRET_PREFIX",
    "KEY_PREFIX",
    "LAST_USED_RESOLUTION",
    "AuthenticationFailed",
    "IssuedKey",
    "IssuedSecret",
    "api_key_authenticate",
    "api_key_issue",
    "api_key_revoke",
    "inbound_secret_create",
    "inbound_secret_revoke",
]
