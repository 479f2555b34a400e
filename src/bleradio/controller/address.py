"""The virtual controller's addresses: its own on air, its peers' resolved, and the lists.

The public address comes from the medium; the host sets the random one. With address
resolution on, own address types 2/3 go on air as resolvable private addresses made from
the resolving list's local IRK, and a peer's RPA is reported as its identity (types 2/3).
The filter accept list is what advertising, scanning and initiating filter on; it cannot
change while one of them uses it, nor the random address while any of them runs.

Uses: the controller's public address; the core's connection handles (the RPAs of a
link); the GAP role's ``busy()`` and ``uses_accept_list()`` (``gap.py``, which in turn uses
this role's addresses: ``VirtualController`` wires the two together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bumble import crypto
from bumble import hci as bhci

from . import hcipackets as hp
from .core import _ZERO_ADDRESS, Commands, ControllerCore, SyncCommands, _Invalid

if TYPE_CHECKING:
    from .gap import Gap
    from .virtual import VirtualController

FILTER_ACCEPT_LIST_SIZE = 16
RESOLVING_LIST_SIZE = 16


def resolve_rpa(irk: bytes, address: bytes) -> bool:
    """True if the resolvable private ``address`` (6 bytes LE) was made from ``irk``."""
    if (address[5] >> 6) != 0b01 or irk == bytes(16):
        return False
    return crypto.ah(irk, address[3:6]) == address[0:3]


class Addressing:
    """Random address, own and peer addresses, filter accept list, resolving list."""

    gap: Gap  # set by VirtualController once the GAP role exists

    def __init__(self, controller: VirtualController, core: ControllerCore) -> None:
        self.controller = controller
        self.core = core

    def reset(self) -> None:
        """The state HCI_Reset clears."""
        self.random_address = _ZERO_ADDRESS
        self.accept_list: set[tuple[int, bytes]] = set()
        self.resolving_list: list[tuple[int, bytes, bytes, bytes]] = []
        self.address_resolution = False

    def commands(self) -> Commands:
        """This role's HCI commands: random address, filter accept list, resolving list."""
        h = bhci
        sync: SyncCommands = {
            h.HCI_LE_SET_RANDOM_ADDRESS_COMMAND: (self._le_set_random_address, None),
            h.HCI_LE_READ_FILTER_ACCEPT_LIST_SIZE_COMMAND: (
                lambda p: bytes((0, FILTER_ACCEPT_LIST_SIZE)),
                None,
            ),
            h.HCI_LE_CLEAR_FILTER_ACCEPT_LIST_COMMAND: (self._le_clear_accept_list, None),
            h.HCI_LE_ADD_DEVICE_TO_FILTER_ACCEPT_LIST_COMMAND: (self._le_add_accept, None),
            h.HCI_LE_REMOVE_DEVICE_FROM_FILTER_ACCEPT_LIST_COMMAND: (self._le_remove_accept, None),
            h.HCI_LE_ADD_DEVICE_TO_RESOLVING_LIST_COMMAND: (self._le_add_resolving, None),
            h.HCI_LE_REMOVE_DEVICE_FROM_RESOLVING_LIST_COMMAND: (self._le_remove_resolving, None),
            h.HCI_LE_CLEAR_RESOLVING_LIST_COMMAND: (self._le_clear_resolving, None),
            h.HCI_LE_READ_RESOLVING_LIST_SIZE_COMMAND: (
                lambda p: bytes((0, RESOLVING_LIST_SIZE)),
                None,
            ),
            h.HCI_LE_READ_PEER_RESOLVABLE_ADDRESS_COMMAND: (self._le_read_peer_rpa, None),
            h.HCI_LE_READ_LOCAL_RESOLVABLE_ADDRESS_COMMAND: (self._le_read_local_rpa, None),
            h.HCI_LE_SET_ADDRESS_RESOLUTION_ENABLE_COMMAND: (self._le_set_resolution, None),
            h.HCI_LE_SET_RESOLVABLE_PRIVATE_ADDRESS_TIMEOUT_COMMAND: (lambda p: b"\x00", None),
            h.HCI_LE_SET_PRIVACY_MODE_COMMAND: (lambda p: b"\x00", None),
        }
        return sync, {}

    # ------------------------------------------------------------------ addresses
    def _le_set_random_address(self, params: bytes) -> bytes | int:
        if len(params) != 6:
            raise _Invalid("address")
        if self.gap.busy():
            return hp.COMMAND_DISALLOWED
        self.random_address = bytes(params)
        return b"\x00"

    def own_address(
        self, own_type: int, peer: tuple[int, bytes] | None = None
    ) -> tuple[int, bytes]:
        """(TxAdd, address) that goes on air for an own_address_type."""
        if own_type in (2, 3):
            irk = self._local_irk_for(peer)
            if irk is not None:
                return 1, bytes(bhci.Address.generate_private_address(irk).address_bytes)
            own_type -= 2
        if own_type == 1:
            return 1, self.random_address
        return 0, self.controller.public_address

    def _local_irk_for(self, peer: tuple[int, bytes] | None) -> bytes | None:
        if not self.address_resolution:
            return None
        fallback = None
        for id_type, id_address, _peer_irk, local_irk in self.resolving_list:
            if local_irk == bytes(16):
                continue
            if peer is not None and (id_type, id_address) == peer:
                return local_irk
            if id_address == _ZERO_ADDRESS:
                fallback = local_irk
        return fallback

    def resolve(self, address_type: int, address: bytes) -> tuple[int, bytes, bytes]:
        """Peer address as reported: (type incl. 2/3 for resolved identities, address, rpa)."""
        if address_type == 1 and self.address_resolution and (address[5] >> 6) == 0b01:
            for id_type, id_address, peer_irk, _local in self.resolving_list:
                if resolve_rpa(peer_irk, address):
                    return id_type + 2, id_address, address
        return address_type, address, _ZERO_ADDRESS

    def is_own_address(self, address_type: int, address: bytes) -> bool:
        if address_type == 0:
            return address == self.controller.public_address
        if address == self.random_address:
            return True
        irk = self._local_irk_for(None)
        return irk is not None and resolve_rpa(irk, address)

    def in_accept_list(self, address_type: int, address: bytes) -> bool:
        if (address_type, address) in self.accept_list or (0xFF, _ZERO_ADDRESS) in self.accept_list:
            return True
        kind, identity, _rpa = self.resolve(address_type, address)
        return kind >= 2 and (kind - 2, identity) in self.accept_list

    # ------------------------------------------------------------------ filter accept list
    def _le_clear_accept_list(self, params: bytes) -> bytes | int:
        if self.gap.uses_accept_list():
            return hp.COMMAND_DISALLOWED
        self.accept_list.clear()
        return b"\x00"

    def _le_add_accept(self, params: bytes) -> bytes | int:
        address_type, address = params[0], bytes(params[1:7])
        if len(address) != 6:
            raise _Invalid("address")
        if self.gap.uses_accept_list():
            return hp.COMMAND_DISALLOWED
        if len(self.accept_list) >= FILTER_ACCEPT_LIST_SIZE:
            return hp.MEMORY_CAPACITY_EXCEEDED
        self.accept_list.add((address_type, address if address_type != 0xFF else _ZERO_ADDRESS))
        return b"\x00"

    def _le_remove_accept(self, params: bytes) -> bytes | int:
        address_type, address = params[0], bytes(params[1:7])
        if self.gap.uses_accept_list():
            return hp.COMMAND_DISALLOWED
        self.accept_list.discard((address_type, address))
        return b"\x00"

    # ------------------------------------------------------------------ resolving list
    def _le_add_resolving(self, params: bytes) -> bytes | int:
        if len(params) != 39:
            raise _Invalid("length")
        if len(self.resolving_list) >= RESOLVING_LIST_SIZE:
            return hp.MEMORY_CAPACITY_EXCEEDED
        entry = (params[0], bytes(params[1:7]), bytes(params[7:23]), bytes(params[23:39]))
        self.resolving_list = [e for e in self.resolving_list if e[:2] != entry[:2]]
        self.resolving_list.append(entry)
        return b"\x00"

    def _le_remove_resolving(self, params: bytes) -> bytes | int:
        key = (params[0], bytes(params[1:7]))
        before = len(self.resolving_list)
        self.resolving_list = [e for e in self.resolving_list if e[:2] != key]
        return b"\x00" if len(self.resolving_list) != before else hp.UNKNOWN_CONNECTION_IDENTIFIER

    def _le_clear_resolving(self, params: bytes) -> bytes:
        self.resolving_list = []
        return b"\x00"

    def _le_set_resolution(self, params: bytes) -> bytes:
        self.address_resolution = bool(params[0])
        return b"\x00"

    def _le_read_peer_rpa(self, params: bytes) -> bytes | int:
        return self._read_rpa(params, local=False)

    def _le_read_local_rpa(self, params: bytes) -> bytes | int:
        return self._read_rpa(params, local=True)

    def _read_rpa(self, params: bytes, local: bool) -> bytes | int:
        """The RPA (ours or the peer's) on a link to the peer identity in ``params``."""
        key = (params[0], bytes(params[1:7]))
        for end in self.core.handles.values():
            rpa = end.local_rpa if local else end.peer_rpa
            if (end.peer_address_type & 1, end.peer_address) == key and rpa != _ZERO_ADDRESS:
                return b"\x00" + rpa
        return hp.UNKNOWN_CONNECTION_IDENTIFIER
