"""SCIM 2.0 provisioning (RFC 7643/7644) at ``/scim/v2``: an identity provider creates, changes and
deactivates people through the same people services as HR's pages.

- ``models``: the hashed bearer tokens, and what SCIM keeps about a person beyond Polso's fields;
- ``tokens``: making, checking, listing and revoking those tokens;
- ``mapping``: a Polso person as a SCIM User, and a SCIM User as the people services' fields;
- ``users``: the Users operations (create, replace, patch, deactivate, find), recorded in the audit log;
- ``discovery``: ServiceProviderConfig, ResourceTypes and Schemas;
- ``protocol``: the media type, the error format and the bearer check;
- ``views``: the blueprint; ``cli``: ``flask scim token create|list|revoke``.
"""
