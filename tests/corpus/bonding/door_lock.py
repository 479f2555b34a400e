# Door lock state over BLE, readable only by a bonded phone.
# Bonds are kept in bonds.json so they survive a reset.

import bluetooth
import binascii
import json
import time
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

_FLAG_READ = const(0x0002)
_FLAG_READ_ENCRYPTED = const(0x0200)

_IO_CAPABILITY_NO_INPUT_OUTPUT = const(3)

_LOCK_UUID = bluetooth.UUID("7d1c0001-5b3a-4c9e-9f2e-1a2b3c4d5e6f")
_STATE_UUID = bluetooth.UUID("7d1c0002-5b3a-4c9e-9f2e-1a2b3c4d5e6f")
_LOCK_SERVICE = (
    _LOCK_UUID,
    ((_STATE_UUID, _FLAG_READ | _FLAG_READ_ENCRYPTED),),
)

SECRETS_FILE = "bonds.json"
NAME = "mpy-lock"

secrets = {}


def load_secrets():
    try:
        with open(SECRETS_FILE, "r") as f:
            entries = json.load(f)
            for sec_type, key, value in entries:
                secrets[sec_type, binascii.a2b_base64(key)] = binascii.a2b_base64(value)
    except OSError:
        pass
    print("loaded", len(secrets), "secrets")


def save_secrets():
    with open(SECRETS_FILE, "w") as f:
        # Convert bytes to base64 strings (otherwise JSON will treat them like strings).
        json_secrets = [
            (sec_type, binascii.b2a_base64(key), binascii.b2a_base64(value))
            for (sec_type, key), value in secrets.items()
        ]
        json.dump(json_secrets, f)


def irq(event, data):
    if event == _IRQ_CENTRAL_CONNECT:
        conn_handle, addr_type, addr = data
        print("connected", conn_handle)
    elif event == _IRQ_CENTRAL_DISCONNECT:
        conn_handle, addr_type, addr = data
        print("disconnected", conn_handle)
        advertise()
    elif event == _IRQ_ENCRYPTION_UPDATE:
        print("_IRQ_ENCRYPTION_UPDATE", data)
    elif event == _IRQ_SET_SECRET:
        sec_type, key, value = data
        key = sec_type, bytes(key)
        value = bytes(value) if value else None
        print("set secret type", sec_type)
        if value is None:
            if key in secrets:
                del secrets[key]
                save_secrets()
                return True
            return False
        secrets[key] = value
        save_secrets()
        return True
    elif event == _IRQ_GET_SECRET:
        sec_type, index, key = data
        if key is None:
            i = 0
            for (t, _key), value in secrets.items():
                if t == sec_type:
                    if i == index:
                        return value
                    i += 1
            return None
        else:
            key = sec_type, bytes(key)
            value = secrets.get(key, None)
            print("get secret type", sec_type, "found" if value else "missing")
            return value


def advertise():
    adv = b"\x02\x01\x06" + bytes((len(NAME) + 1, 0x09)) + NAME
    ble.gap_advertise(100000, adv)


load_secrets()

ble = bluetooth.BLE()
ble.config(bond=True, le_secure=True, mitm=False, io=_IO_CAPABILITY_NO_INPUT_OUTPUT)
ble.irq(irq)
ble.active(True)
ble.config(gap_name=NAME)
((state_handle,),) = ble.gatts_register_services((_LOCK_SERVICE,))
ble.gatts_write(state_handle, "locked")
advertise()

while True:
    time.sleep_ms(500)
