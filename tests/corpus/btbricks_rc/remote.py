# Remote control: connects to the robot by name and ramps up the speed.
from btbricks import RCTransmitter, L_STICK_HOR, L_STICK_VER
from utime import sleep_ms

rc = RCTransmitter()
if rc.connect(name="robot"):
    print("connected, mtu", rc.ble_handler.mtu)
    rc.set_stick(L_STICK_HOR, -30)
    for speed in (25, 50, 75, 100):
        rc.set_stick(L_STICK_VER, speed)
        rc.set_button(1, speed == 100)
        rc.transmit()
        print("sent speed", speed)
        sleep_ms(200)
    sleep_ms(1000)
    rc.disconnect()
else:
    print("robot not found")
