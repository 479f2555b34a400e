"""The virtual controller: an LE-only HCI controller on a medium, one object per role.

- ``virtual``: ``VirtualController``, which owns the roles below and hands each call of
  the medium (``bleradio.air.linklayer.LinkLayer``) to its role; HCI_Reset, leaving the
  medium;
- ``core``: H4 in and out, event masks, command dispatch, the ACL data path and flow
  control, connection handles, version/features/buffers;
- ``address``: own and peer addresses, filter accept list, resolving list;
- ``gap``: advertising, scanning, initiating;
- ``connections``: a link's start and loss, Disconnect, LL control dispatch,
  per-connection reads;
- ``procedures``: LL procedures (connection update, data length, PHY, encryption);
- ``hcipackets``: HCI events built as bytes.
"""

from .virtual import VirtualController

__all__ = ["VirtualController"]
