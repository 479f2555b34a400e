"""Where a host's HCI goes: the seam, the shared radio's server, rootcanal.

- ``hci``: ``open_hci(config)``, the one seam: an in-process ``VirtualController``, the
  shared radio, or a real controller, each as a Bumble ``Transport``;
- ``tcp``: the shared radio's wire (the hello, HCI over TCP, socket tuning);
- ``server``: ``RadioServer`` / ``serve``, the shared radio (``aioble radio``);
- ``rootcanal``: Google's rootcanal as a supervised child process.
"""
