# ESP32 soil moisture sensor (capacitive probe on GPIO34) with a BLE service.
# Notifies the raw reading twice a second; write b'on' / b'off' to the LED
# characteristic to switch the onboard LED (GPIO2).

import ubluetooth
import ustruct
import utime
import micropython
from machine import Pin, ADC
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)

SERVICE_UUID = ubluetooth.UUID('4fafc201-1fb5-459e-8fcc-c5c9c331914b')
READING_UUID = ubluetooth.UUID('beb5483e-36e1-4688-b7f5-ea07361b26a8')
LED_UUID = ubluetooth.UUID('beb5483e-36e1-4688-b7f5-ea07361b26a9')

NAME = 'ESP32-Soil'

led = Pin(2, Pin.OUT)
led.value(0)

adc = ADC(Pin(34))
adc.atten(ADC.ATTN_11DB)       # full range: 0 - 3.3 V
adc.width(ADC.WIDTH_12BIT)     # 0 - 4095

ble = ubluetooth.BLE()
ble.active(True)

SOIL_SERVICE = (
    SERVICE_UUID,
    (
        (READING_UUID, _FLAG_READ | _FLAG_NOTIFY),
        (LED_UUID, _FLAG_READ | _FLAG_WRITE),
    ),
)
((reading_handle, led_handle),) = ble.gatts_register_services((SOIL_SERVICE,))

conn = None


def advertise():
    payload = bytearray(b'\x02\x01\x06')
    payload += ustruct.pack('BB', len(NAME) + 1, 0x09) + NAME
    ble.gap_advertise(200000, payload)


def set_led(value):
    # runs from the scheduler, not in the IRQ
    print('LED command', value)
    if value == b'on':
        led.value(1)
    elif value == b'off':
        led.value(0)


def ble_irq(event, data):
    global conn
    if event == _IRQ_CENTRAL_CONNECT:
        conn, addr_type, addr = data
        print('connected', conn)
    elif event == _IRQ_CENTRAL_DISCONNECT:
        conn = None
        print('disconnected')
        advertise()
    elif event == _IRQ_GATTS_WRITE:
        conn_handle, attr_handle = data
        if attr_handle == led_handle:
            micropython.schedule(set_led, ble.gatts_read(led_handle))


ble.irq(ble_irq)
advertise()
print('advertising as', NAME)

last = utime.ticks_ms()
while True:
    if utime.ticks_diff(utime.ticks_ms(), last) >= 500:
        last = utime.ticks_ms()
        raw = adc.read()
        mv = adc.read_uv() // 1000
        ble.gatts_write(reading_handle, ustruct.pack('<HH', raw, mv))
        if conn is not None:
            ble.gatts_notify(conn, reading_handle)
            print('sent', raw, mv)
    utime.sleep_ms(10)
