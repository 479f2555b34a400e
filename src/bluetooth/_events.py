"""IRQ event numbers and the statuses this port reports (the table of events and their
payloads: docs/bluetooth.md, "IRQ events").

Thread: any (constants).
"""

CENTRAL_CONNECT = 1
CENTRAL_DISCONNECT = 2
GATTS_WRITE = 3
GATTS_READ_REQUEST = 4
SCAN_RESULT = 5
SCAN_DONE = 6
PERIPHERAL_CONNECT = 7
PERIPHERAL_DISCONNECT = 8
GATTC_SERVICE_RESULT = 9
GATTC_SERVICE_DONE = 10
GATTC_CHARACTERISTIC_RESULT = 11
GATTC_CHARACTERISTIC_DONE = 12
GATTC_DESCRIPTOR_RESULT = 13
GATTC_DESCRIPTOR_DONE = 14
GATTC_READ_RESULT = 15
GATTC_READ_DONE = 16
GATTC_WRITE_DONE = 17
GATTC_NOTIFY = 18
GATTC_INDICATE = 19
GATTS_INDICATE_DONE = 20
MTU_EXCHANGED = 21
L2CAP_ACCEPT = 22
L2CAP_CONNECT = 23
L2CAP_DISCONNECT = 24
L2CAP_RECV = 25
L2CAP_SEND_READY = 26
CONNECTION_UPDATE = 27
ENCRYPTION_UPDATE = 28
GET_SECRET = 29
SET_SECRET = 30
PASSKEY_ACTION = 31

# Statuses of DONE events that did not come from an ATT error response. An ATT error is
# reported as its ATT code (0x01-0x13, 0x80-0xFF); these take btstack's values, which no ATT
# error uses, so a program can tell a lost link from an error answered by the peer.
STATUS_NOT_CONNECTED = 0x1F  # the link dropped mid-procedure (ATT_ERROR_HCI_DISCONNECT_RECEIVED)
STATUS_TIMEOUT = 0x7F  # no answer within the ATT transaction timeout, 30 s (ATT_ERROR_TIMEOUT)

# The connection handle of PERIPHERAL_DISCONNECT when a connect attempt fails or is cancelled.
NO_CONNECTION = 0xFFFF
