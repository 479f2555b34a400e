# LMS-ESP32 robot: drive from the BLE remote (btbricks RCReceiver, mip install btbricks)
from btbricks import RCReceiver, L_STICK_HOR, L_STICK_VER, BUTTONS
from utime import sleep_ms

rcv = RCReceiver(name="robot")
last = None

while True:
    if rcv.is_connected():
        steer, speed = rcv.controller_state(L_STICK_HOR, L_STICK_VER)
        buttons = rcv.controller_state(BUTTONS)
        if (steer, speed, buttons) != last:
            last = (steer, speed, buttons)
            print("steer", steer, "speed", speed, "buttons", buttons)
    sleep_ms(20)
