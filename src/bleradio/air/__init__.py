"""The air: the medium the virtual controllers share, and its channel.

- ``medium``: ``Medium`` (fast mode: every PDU delivered at once), ``MediumOptions``,
  advertising PDUs and scan records, this process's medium (``configure``,
  ``process_medium``, ``private_medium``);
- ``air_medium``: ``AirMedium``, the medium with air time (the default): advertising, scan
  and connection events, radio time, timeline;
- ``linklayer``: ``LinkLayer``, the interface the media call on a controller (each
  method's contract), which ``VirtualController`` implements;
- ``link``: ``Link`` / ``LinkEnd``, an LE connection and each end's LL state and queue;
- ``airtime``: pure arithmetic of air time, throughput, energy and discovery;
- ``channel``: pure arithmetic of the channel (path loss, RSSI, errors, capture, CSA);
- ``conditions``: a medium's live channel state, changed by scenarios and controls;
- ``scenario``: scenario files (positions, walls, timed events);
- ``activity``: each device's radio activity, for timelines.

This package imports nothing itself, so that its pure modules (``airtime``, ``channel``)
load without the medium.
"""
