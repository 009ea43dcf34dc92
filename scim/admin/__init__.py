"""HR's Provisioning page: the SCIM address, and the bearer tokens an identity provider uses."""
