"""Controller-to-host flow control: a handler that falls behind slows the peer down.

On a board the stack calls the IRQ handler as each event comes, so a slow handler holds the
stack up, the controller's buffers fill and it stops acknowledging the peer, whose sends
slow down; nothing is lost. Here the handler runs on its own thread, and the HCI's own
mechanism gives the same effect (Core Vol 4, Part E, 4.2): the host tells the controller
how many ACL packets it can hold (Host Buffer Size), turns the flow control on (Set
Controller To Host Flow Control), and says which packets it is done with, in batches (Host
Number Of Completed Packets). While the IRQ dispatcher's backlog of ACL-borne events is
full (``IrqDispatcher.pushback``) those completions are held, so the controller sends at
most ``HOST_ACL_BUFFERS`` more packets, keeps what comes after in its own buffers and, once
they are full, stops acknowledging on the air. When the handler catches up the dispatcher
calls ``resume`` and the held completions go out.

Used on this project's virtual radio (in-process or shared), whose controller implements
it. A foreign controller may list the three commands and not implement them (rootcanal 1.10
aborts on Set Controller To Host Flow Control, for every host on it), so with any other
controller the dispatcher's bound drops the oldest events instead, and counts them. Runs on
the stack thread, except ``resume`` (any thread).
"""

from __future__ import annotations

import asyncio
import logging
import struct

from bumble import hci

from ._irq import HOST_ACL_BUFFERS, IrqDispatcher
from ._quiet_host import QuietHost

logger = logging.getLogger(__name__)

HOST_ACL_PACKET_LENGTH = 1024  # more than any LE controller's packets (at most 251 + 4)
_COMMANDS = (
    hci.HCI_HOST_BUFFER_SIZE_COMMAND,
    hci.HCI_SET_CONTROLLER_TO_HOST_FLOW_CONTROL_COMMAND,
    hci.HCI_HOST_NUMBER_OF_COMPLETED_PACKETS_COMMAND,
)
_COMPLETED_HEADER = struct.Struct("<BHB")  # H4 command, opcode, parameter length
REPORT_EVERY = HOST_ACL_BUFFERS // 2


class ReceiveFlow:
    """The host's side of controller-to-host flow control for one Bumble host."""

    def __init__(self, host: QuietHost, dispatcher: IrqDispatcher) -> None:
        self._host = host
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self.enabled = False
        self._done: dict[int, int] = {}  # handle -> packets processed, not reported yet
        self._unreported = 0  # their sum
        self._scheduled = False
        host.rx_flow = self

    async def enable(self) -> bool:
        """Turn the flow control on, where the controller supports it (after HCI_Reset)."""
        host = self._host
        if not all(host.supports_command(op) for op in _COMMANDS):
            logger.debug("the controller has no controller-to-host flow control")
            return False
        await host.send_command(
            hci.HCI_Host_Buffer_Size_Command(
                host_acl_data_packet_length=HOST_ACL_PACKET_LENGTH,
                host_synchronous_data_packet_length=0,
                host_total_num_acl_data_packets=HOST_ACL_BUFFERS,
                host_total_num_synchronous_data_packets=0,
            ),
            check_result=True,
        )
        await host.send_command(
            hci.HCI_Set_Controller_To_Host_Flow_Control_Command(flow_control_enable=1),
            check_result=True,
        )
        self.enabled = True
        self._dispatcher.on_resume = self.resume
        return True

    def processed(self, handle: int) -> None:
        """An ACL packet from the controller has been through the stack (its event, if any,
        is queued for the handler). Reported in batches of ``REPORT_EVERY``, so that the
        controller always has at least half the host's buffers and a busy link does not
        pay one more HCI command per packet."""
        if not self.enabled:
            return
        self._done[handle] = self._done.get(handle, 0) + 1
        self._unreported += 1
        if (
            self._unreported >= REPORT_EVERY
            and not self._scheduled
            and not self._dispatcher.pushback
        ):
            self._scheduled = True
            self._loop.call_soon(self._report)

    def forget(self, handle: int) -> None:
        """The link is gone (Disconnection Complete): its buffers are the controller's again."""
        self._unreported -= self._done.pop(handle, 0)

    def resume(self) -> None:
        """The handler caught up (the IRQ thread): report what was held."""
        try:
            self._loop.call_soon_threadsafe(self._report)
        except RuntimeError:
            pass  # the stack loop is gone

    def _report(self) -> None:
        self._scheduled = False
        if not self._done or self._dispatcher.pushback or self._host.rx_flow is not self:
            return
        done = list(self._done.items())
        self._done.clear()
        self._unreported = 0
        for start in range(0, len(done), 255):
            chunk = done[start : start + 255]
            body = bytes((len(chunk),)) + b"".join(
                struct.pack("<HH", handle, count) for handle, count in chunk
            )
            self._host.send_raw(
                _COMPLETED_HEADER.pack(
                    hci.HCI_COMMAND_PACKET,
                    hci.HCI_HOST_NUMBER_OF_COMPLETED_PACKETS_COMMAND,
                    len(body),
                )
                + body
            )
