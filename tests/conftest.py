"""The whole suite: the virtual radio runs in fast mode (no air time) unless a test asks
for air time (``Medium(fast=False)``, ``radio_options={"fast": False}``, ``-o fast=0``).

Air time is the default for users; most tests here check behaviour, not timing, and run
many times faster without it. ``AIOBLE_RADIO_FAST=0 pytest`` runs them on air time too.
The variable is read by every virtual radio a process makes (the in-process medium and
``bleradio.serve``), so subprocesses (``aioble run``, ``aioble multitest``) inherit it.
"""

from __future__ import annotations

import os

os.environ.setdefault("AIOBLE_RADIO_FAST", "1")
