# Parameters of the battery sensor example, shared by sensor.py and collector.py (a
# board keeps such settings in a module of its own). table.py writes its own copies.

ADV_INTERVAL_MS = 250  # sensor: advertising interval while it waits for the collector
ADV_TIMEOUT_MS = 10000  # sensor: it gives up on a reading after advertising this long
CONN_INTERVAL_MS = 50  # collector: the connection interval it asks for
SCAN_INTERVAL_MS = 100  # collector: it listens SCAN_WINDOW_MS of every SCAN_INTERVAL_MS
SCAN_WINDOW_MS = 25
PERIOD_MS = 2000  # sensor: it sleeps this long, radio off, between two readings
READINGS = 3  # sensor: readings before it exits (the run ends with it)
