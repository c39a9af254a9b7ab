"""What a user might write instead: a paho-mqtt subscriber that decodes `tm` frames and COPYs
them into PostgreSQL in batches with psycopg. Used by the end-to-end benchmark as a baseline.

usage: ingest.py MQTT_HOST MQTT_PORT DATABASE_URL SENSOR FIELD_COUNT
Prints 'ready' once subscribed and 'stored N' after each batch.
"""
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt
import psycopg

host, port, dsn, sensor, fields = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
table = f"py_{sensor}"
columns = ", ".join(f"v{i} float8" for i in range(fields))

db = psycopg.connect(dsn, autocommit=False)
with db.cursor() as cur:
    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (device_id int4 NOT NULL, time timestamptz NOT NULL, seq int8, {columns}, PRIMARY KEY (device_id, time))")
db.commit()

lock = threading.Lock()
pending = []
device_ids = {}
stored = 0
EPOCH = 946_684_800_000_000


def decode(device, payload):
    magic, version, flags, count_fields, scale, samples, seq, base = struct.unpack_from("<2sBBBbHIq", payload, 0)
    if magic != b"TM" or version != 1 or count_fields != fields:
        return []
    encoding = (flags >> 1) & 3
    fmt, width = {0: ("f", 4), 1: ("d", 8), 2: ("i", 4)}[encoding]
    rows, offset = [], 20
    for _ in range(samples):
        (delta,) = struct.unpack_from("<I", payload, offset)
        values = struct.unpack_from("<" + fmt * fields, payload, offset + 4)
        if encoding == 2:
            values = tuple(v * 10 ** scale for v in values)
        rows.append((device, base + delta, seq) + tuple(values))
        offset += 4 + fields * width
    return rows


def on_message(client, userdata, message):
    device = message.topic.split("/")[2]
    with lock:
        device_id = device_ids.setdefault(device, len(device_ids) + 1)
        pending.extend(decode(device_id, message.payload))


def on_connect(client, userdata, flags, rc, properties=None):
    client.subscribe(f"telemetry/{sensor}/+", qos=1)
    print("ready", flush=True)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"py-baseline-{sensor}", clean_session=False)
client.on_message = on_message
client.on_connect = on_connect
client.max_inflight_messages_set(100)
client.connect(host, port)
client.loop_start()

from datetime import datetime, timedelta, timezone
UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
while True:
    time.sleep(0.1)
    with lock:
        batch, pending[:] = pending[:], []
    if not batch:
        continue
    with db.cursor() as cur:
        with cur.copy(f"COPY {table} FROM STDIN") as copy:
            for device_id, micros, seq, *values in batch:
                copy.write_row((device_id, UNIX + timedelta(microseconds=micros), seq, *values))
    db.commit()
    stored += len(batch)
    print(f"stored {stored}", flush=True)
