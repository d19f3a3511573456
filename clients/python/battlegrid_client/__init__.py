"""battlegrid_client: a Python client for the battlegrid game server.

- ``codec``: messages to bytes and back, and control-stream framing;
- ``messages``: the message dataclasses of protocol version 1;
- ``http``: sign-up, log-in and server-info over the HTTP API;
- ``client``: the QUIC game connection (aioquic);
- ``session``: a game session that reconnects and resumes by itself.

Written from docs/PROTOCOL.md and docs/API.md only.
"""
