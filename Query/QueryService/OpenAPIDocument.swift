/// The OpenAPI 3.1 description served at /openapi.yaml. QueryServiceTests compares its `paths` with the
/// router's routes, so a route added or removed without this file failing a test cannot happen.
enum OpenAPIDocument {
    static let text = paths + alertPaths + components + alertSchemas

    static let paths = """
        openapi: 3.1.0
        info:
          title: Telemetry query service
          version: "1"
          description: >-
            Stored IoT readings, time-bucketed aggregates and dead letters. Times in responses are RFC 3339 UTC
            with microseconds; time parameters accept RFC 3339 or integer epoch milliseconds. Every route except
            /healthz and /readyz needs a bearer token when tokens are configured. Path parameters are percent-decoded
            once; a path or method no route serves is a 404 with an Error body.
        servers:
          - url: /
        security:
          - bearer: []
        paths:
          /v1/sensors:
            get:
              summary: The sensor catalog
              operationId: listSensors
              responses:
                "200": {description: "Each sensor type with its fields, topic filter, formats and sources (firmware topics it also takes)", content: {application/json: {schema: {$ref: "#/components/schemas/Catalog"}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /v1/sensors/{sensor}/devices:
            get:
              summary: Devices seen for a sensor type, ordered by id, paged
              operationId: listDevices
              parameters:
                - $ref: "#/components/parameters/sensor"
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10000, default: 100}}
                - $ref: "#/components/parameters/cursor"
                - {name: prefix, in: query, description: Only devices whose id starts with this, schema: {type: string, pattern: "^[A-Za-z0-9._-]{0,64}$"}}
                - {name: state, in: query, description: Only devices in this state, schema: {$ref: "#/components/schemas/DeviceState"}}
              responses:
                "200": {description: A page of devices, content: {application/json: {schema: {$ref: "#/components/schemas/DevicePage"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/sensors/{sensor}/devices/{device}:
            get:
              summary: One device with its state
              operationId: getDevice
              parameters:
                - $ref: "#/components/parameters/sensor"
                - $ref: "#/components/parameters/device"
              responses:
                "200": {description: The device, content: {application/json: {schema: {$ref: "#/components/schemas/Device"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
            patch:
              summary: Sets the device's own expected interval (admin tokens only)
              description: A device is silent after its expected interval times device_silent_factor without a reading; null goes back to its sensor type's.
              operationId: patchDevice
              parameters:
                - $ref: "#/components/parameters/sensor"
                - $ref: "#/components/parameters/device"
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [expected_interval]
                      additionalProperties: false
                      properties:
                        expected_interval: {type: [string, "null"], pattern: "^[1-9][0-9]*[smhd]$", examples: ["5m"]}
              responses:
                "200": {description: The device, content: {application/json: {schema: {$ref: "#/components/schemas/Device"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/sensors/{sensor}/devices/{device}/latest:
            get:
              summary: The newest reading of one device
              operationId: latestReading
              parameters:
                - $ref: "#/components/parameters/sensor"
                - $ref: "#/components/parameters/device"
              responses:
                "200": {description: The reading, content: {application/json: {schema: {$ref: "#/components/schemas/Latest"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/sensors/{sensor}/devices/{device}/readings:
            get:
              summary: Raw readings of one device in [from, to), paged
              operationId: listReadings
              parameters:
                - $ref: "#/components/parameters/sensor"
                - $ref: "#/components/parameters/device"
                - $ref: "#/components/parameters/from"
                - $ref: "#/components/parameters/to"
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10000, default: 1000}}
                - $ref: "#/components/parameters/cursor"
                - $ref: "#/components/parameters/order"
                - $ref: "#/components/parameters/format"
              responses:
                "200":
                  description: "A page of readings; as CSV (format=csv or Accept: text/csv) every reading of the range (limit: at most that many), streamed, header time,seq,<fields>"
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/ReadingPage"}}
                    text/csv: {schema: {type: string}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/sensors/{sensor}/devices/{device}/stream:
            get:
              summary: Live readings of one device as Server-Sent Events
              description: >-
                One `reading` event per reading committed after the stream opened (data is a Reading, id its time
                in microseconds), pushed once the writer's transaction has committed (PostgreSQL LISTEN/NOTIFY, one
                notification per batch); a `state` event when the device's state changes (data {"state", "since"});
                a comment line every 15 s. Authenticated by the bearer header like every
                route. A client that falls 256 events behind is disconnected (reconnect to go on).
              operationId: streamReadings
              parameters:
                - $ref: "#/components/parameters/sensor"
                - $ref: "#/components/parameters/device"
              responses:
                "200": {description: "An endless text/event-stream", content: {text/event-stream: {schema: {type: string}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/overview:
            get:
              summary: The dashboard's overview, in one call
              description: >-
                Per sensor type its devices, readings in the current minute and the 59 before it, readings in the
                current minute, and dead letters received in the last 60 minutes; each ingest service's last
                report (written by the service every 5 s; up when fresher than 15 s and subscribed).
              operationId: overview
              responses:
                "200": {description: The overview, content: {application/json: {schema: {$ref: "#/components/schemas/Overview"}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/sensors/{sensor}/aggregates:
            get:
              summary: Time-bucketed aggregates, equal to a SQL GROUP BY over the raw readings
              description: >-
                Buckets are aligned to the Unix epoch in UTC; empty buckets are left out; at most 100,000 buckets
                per series. count, min and max are exact; sum and avg within 1e-9 relative.
              operationId: aggregates
              parameters:
                - $ref: "#/components/parameters/sensor"
                - {name: field, in: query, description: One field of the sensor type (default all), schema: {type: string}}
                - {name: from, in: query, description: Start (inclusive; default to minus one day), schema: {type: string}}
                - {name: to, in: query, description: End (exclusive; default now), schema: {type: string}}
                - {name: bucket, in: query, schema: {type: string, pattern: "^[1-9][0-9]*[smhd]$", default: 1h}}
                - {name: fn, in: query, description: "Comma list of count, sum, avg, min, max", schema: {type: string, default: "count,avg,min,max"}}
                - {name: device, in: query, description: Repeatable; none means all devices (at most 1000), explode: true, schema: {type: array, items: {type: string}}}
                - {name: group_by, in: query, description: One series per device, schema: {type: string, enum: [device]}}
                - $ref: "#/components/parameters/format"
              responses:
                "200":
                  description: "Series of points; as CSV (format=csv or Accept: text/csv) one row per point, header device,field,time,<functions>"
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/Aggregates"}}
                    text/csv: {schema: {type: string}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/rejected:
            get:
              summary: The dead-letter store by receive time, oldest first (order=desc newest first), paged
              description: >-
                A page holds at most `limit` dead letters and stops at about 1 MiB of JSON (at least one dead letter),
                whatever the limit; `next` continues it.
              operationId: listRejected
              parameters:
                - {name: sensor, in: query, schema: {type: string}}
                - {name: reason, in: query, description: "Only reasons that start with this (a code such as truncated, or its start)", schema: {type: string, pattern: "^[a-z_]{1,64}$"}}
                - $ref: "#/components/parameters/from"
                - $ref: "#/components/parameters/to"
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10000, default: 100}}
                - $ref: "#/components/parameters/cursor"
                - $ref: "#/components/parameters/order"
              responses:
                "200": {description: A page of dead letters, content: {application/json: {schema: {$ref: "#/components/schemas/RejectedPage"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/rejected/over-quota:
            get:
              summary: The hours in which a device had more dead letters than its quota (dead_letter_quota_per_hour), newest first
              description: >-
                The device is read from the topic (its third level under telemetry/); a topic outside telemetry/ counts as its
                own source. Past the quota a device's dead letters of that hour are counted as refused, not stored. Not
                paged: a cursor is a 400.
              operationId: listOverQuota
              parameters:
                - $ref: "#/components/parameters/from"
                - $ref: "#/components/parameters/to"
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
              responses:
                "200": {description: Sources over their quota, content: {application/json: {schema: {$ref: "#/components/schemas/OverQuota"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/devices/{device}/credentials:
            put:
              summary: Creates (201) or rotates (200) a device's credential; the only response that holds its password
              description: >-
                Admin tokens only. The broker takes it within seconds (telemetry broker-sync). The ids ingest-…,
                broker-sync-probe… and telemetry are reserved, in any case. A body key other than sensors is a 400.
              operationId: issueCredential
              parameters:
                - $ref: "#/components/parameters/device"
              requestBody:
                required: false
                content: {application/json: {schema: {type: object, additionalProperties: false, properties: {sensors: {type: [array, "null"], uniqueItems: true, items: {type: string}, description: "null: every sensor type; omitted: a rotation keeps the device's, a new device gets every type"}}}}}
              responses:
                "200": {description: Rotated, content: {application/json: {schema: {$ref: "#/components/schemas/IssuedCredential"}}}}
                "201": {description: Created, content: {application/json: {schema: {$ref: "#/components/schemas/IssuedCredential"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "503": {$ref: "#/components/responses/Unavailable"}
            get:
              summary: A device's credential without its password
              operationId: getCredential
              parameters:
                - $ref: "#/components/parameters/device"
              responses:
                "200": {description: The credential, content: {application/json: {schema: {$ref: "#/components/schemas/Credential"}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
            delete:
              summary: Revokes a device's credential; the broker disconnects it within seconds
              operationId: revokeCredential
              parameters:
                - $ref: "#/components/parameters/device"
              responses:
                "204": {description: Revoked}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/devices/credentials:
            post:
              summary: Provisions up to 100,000 devices at once, all or nothing
              operationId: provisionCredentials
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [devices]
                      additionalProperties: false
                      properties:
                        devices: {type: array, items: {type: object, required: [device], additionalProperties: false, properties: {device: {type: string}, sensors: {type: [array, "null"], uniqueItems: true, items: {type: string}}}}}
              responses:
                "200":
                  description: Every device's password, once
                  content:
                    application/json:
                      schema:
                        type: object
                        properties:
                          credentials: {type: array, items: {type: object, properties: {device: {type: string}, username: {type: string}, password: {type: string}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "503": {$ref: "#/components/responses/Unavailable"}
            get:
              summary: The devices that have credentials, in device order, paged, without secrets
              operationId: listCredentials
              parameters:
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10000, default: 1000}}
                - $ref: "#/components/parameters/cursor"
              responses:
                "200":
                  description: A page of credentials
                  content:
                    application/json:
                      schema: {type: object, properties: {credentials: {type: array, items: {$ref: "#/components/schemas/Credential"}}, next: {type: [string, "null"]}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /:
            get:
              summary: The dashboard (HTML; it asks for a token and sends it as the bearer header)
              operationId: dashboard
              security: []
              responses:
                "200": {description: The page, content: {text/html: {schema: {type: string}}}}
          /ui/{asset}:
            get:
              summary: The dashboard's style sheet and scripts (app.css, app.js, views.js, chart.js)
              operationId: dashboardAsset
              security: []
              parameters:
                - {name: asset, in: path, required: true, schema: {type: string}}
              responses:
                "200": {description: The file, content: {text/css: {schema: {type: string}}, text/javascript: {schema: {type: string}}}}
                "404": {$ref: "#/components/responses/NotFound"}
          /healthz:
            get:
              summary: 200 while the process runs
              operationId: health
              security: []
              responses:
                "200": {description: Running, content: {application/json: {schema: {type: object}}}}
            head:
              summary: As GET, without the body (load balancers probe with HEAD)
              operationId: healthHead
              security: []
              responses:
                "200": {description: Running}
          /readyz:
            get:
              summary: 200 when the database answers, else 503
              operationId: ready
              security: []
              responses:
                "200": {description: Ready, content: {application/json: {schema: {type: object}}}}
                "503": {description: Database unavailable, content: {application/json: {schema: {type: object}}}}
            head:
              summary: As GET, without the body
              operationId: readyHead
              security: []
              responses:
                "200": {description: Ready}
                "503": {description: Database unavailable}
          /metrics:
            get:
              summary: Prometheus metrics (requests and latency per route)
              operationId: metrics
              responses:
                "200": {description: Prometheus text format, content: {text/plain: {schema: {type: string}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /openapi.yaml:
            get:
              summary: This document
              operationId: openapi
              responses:
                "200": {description: OpenAPI 3.1 YAML, content: {application/yaml: {schema: {type: string}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}

        """

    static let components = """
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer}
          parameters:
            format: {name: format, in: query, description: "csv for CSV (as Accept: text/csv does); json is the default", schema: {type: string, enum: [json, csv]}}
            sensor: {name: sensor, in: path, required: true, schema: {type: string}}
            device: {name: device, in: path, required: true, description: "Not . nor ..", schema: {type: string, pattern: "^[A-Za-z0-9._-]{1,64}$"}}
            from: {name: from, in: query, description: "Start (inclusive), RFC 3339 or epoch milliseconds", schema: {type: string}}
            to: {name: to, in: query, description: "End (exclusive), RFC 3339 or epoch milliseconds", schema: {type: string}}
            cursor: {name: cursor, in: query, description: "The opaque next value of the previous page; anything else is a 400", schema: {type: string, minLength: 1}}
            order: {name: order, in: query, description: "asc: oldest first; desc: newest first (send the same order with a page's cursor)", schema: {type: string, enum: [asc, desc], default: asc}}
          responses:
            BadRequest: {description: "A bad parameter (the message names it)", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
            Unauthorized: {description: No or wrong bearer token, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
            Forbidden: {description: A read token on an admin route, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
            NotFound: {description: Unknown sensor type or device, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
            Unavailable: {description: The database is not answering, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
          schemas:
            Time: {type: string, format: date-time, examples: ["2026-01-01T00:00:00.000000Z"]}
            Error:
              type: object
              required: [error]
              properties:
                error: {type: object, required: [code, message], properties: {code: {type: string}, message: {type: string}}}
            Catalog:
              type: object
              properties:
                sensors:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
                      topic_filter: {type: string}
                      default_format: {type: string}
                      formats: {type: array, items: {type: string}}
                      fields: {type: array, items: {type: object, properties: {name: {type: string}, unit: {type: string}, min: {type: number}, max: {type: number}}}}
                      sources: {type: array, items: {$ref: "#/components/schemas/Source"}}
            Source:
              type: object
              description: >-
                A topic pattern other than telemetry/<sensor>/<device> that the sensor type also takes, as
                off-the-shelf firmware publishes it (Tasmota, Shelly, ESPHome), a LoRaWAN network server's uplink
                topic (with an envelope), or a Sparkplug B group (format sparkplug)
              required: [topic, format]
              properties:
                topic: {type: string, description: "MQTT topic levels with one {device} level, the device id; sparkplug: spBv1.0/<group>", examples: ["tele/{device}/SENSOR"]}
                format: {type: string, description: "The payload format on this topic (with an envelope: of the node's bytes, json for the network server's decoded object)", enum: [tm, lpp, senml-json, senml-cbor, json, text, sparkplug]}
                envelope: {type: string, description: "A LoRaWAN network server's uplink JSON around the payload", enum: [chirpstack, ttn]}
                device: {type: string, description: "With an envelope: the id readings are stored under", enum: [dev_eui, name]}
                uplink:
                  type: object
                  description: "With an envelope: fields filled from the uplink's metadata"
                  additionalProperties: {type: string, enum: [rssi, snr, gateways, f_cnt, f_port, frequency, spreading_factor, gateway_eui_high, gateway_eui_low]}
                description: {type: [string, "null"], description: Which firmware publishes there}
                fields:
                  type: object
                  description: "json: per field of the sensor type, the key paths it is read at, tried in order (a key holding . in double quotes); sparkplug: the metric names"
                  additionalProperties: {type: array, items: {type: string}}
                  examples: [{celsius: ["AM2301.Temperature", "BME280.Temperature"]}]
                time: {type: [string, "null"], description: "json only: the key path of the reading's time; null: a top-level ts, time or timestamp, else the receive time"}
                field: {type: [string, "null"], description: "text only: the field the number is for"}
            DevicePage:
              type: object
              properties:
                sensor: {type: string}
                devices: {type: array, items: {$ref: "#/components/schemas/Device"}}
                next: {type: [string, "null"]}
            DeviceState: {type: string, enum: [online, silent, offline]}
            Device:
              type: object
              properties:
                device: {type: string}
                first_seen: {$ref: "#/components/schemas/Time"}
                last_seen: {$ref: "#/components/schemas/Time", description: The newest reading's own time}
                last_heard: {$ref: "#/components/schemas/Time", description: When its newest reading arrived (to within half its expected interval, at most 30 s)}
                state: {$ref: "#/components/schemas/DeviceState"}
                state_since: {$ref: "#/components/schemas/Time"}
                expected_interval: {type: string, examples: ["60s"]}
                expected_interval_is_own: {type: boolean, description: false when it is its sensor type's}
            Reading:
              type: object
              description: time, seq, and one number per field the reading carries
              properties:
                time: {$ref: "#/components/schemas/Time"}
                seq: {type: [integer, "null"]}
              additionalProperties: {type: number}
            Latest:
              type: object
              properties:
                sensor: {type: string}
                device: {type: string}
                fields: {type: array, items: {type: string}}
                reading: {$ref: "#/components/schemas/Reading"}
            ReadingPage:
              type: object
              properties:
                sensor: {type: string}
                device: {type: string}
                fields: {type: array, items: {type: string}}
                readings: {type: array, items: {$ref: "#/components/schemas/Reading"}}
                next: {type: [string, "null"]}
            Aggregates:
              type: object
              properties:
                sensor: {type: string}
                bucket: {type: string}
                from: {$ref: "#/components/schemas/Time"}
                to: {$ref: "#/components/schemas/Time"}
                series:
                  type: array
                  items:
                    type: object
                    properties:
                      device: {type: [string, "null"], description: null for a series over several devices}
                      field: {type: string}
                      points:
                        type: array
                        items:
                          type: object
                          properties:
                            time: {$ref: "#/components/schemas/Time"}
                            count: {type: integer}
                            sum: {type: number}
                            avg: {type: number}
                            min: {type: number}
                            max: {type: number}
            StateCounts:
              type: object
              properties: {online: {type: integer}, silent: {type: integer}, offline: {type: integer}}
            Overview:
              type: object
              properties:
                time: {$ref: "#/components/schemas/Time"}
                sensors:
                  type: array
                  items:
                    type: object
                    properties:
                      sensor: {type: string}
                      devices: {type: integer}
                      devices_by_state: {$ref: "#/components/schemas/StateCounts"}
                      readings_last_hour: {type: integer}
                      readings_last_minute: {type: integer}
                      rejected_last_hour: {type: integer}
                      open_alerts: {type: integer, description: Alert episodes not cleared}
                devices_by_state: {$ref: "#/components/schemas/StateCounts"}
                open_alerts: {type: integer}
                unrouted_rejected_last_hour: {type: integer}
                services:
                  type: array
                  items:
                    type: object
                    properties:
                      service: {type: string}
                      sensor: {type: string}
                      up: {type: boolean, description: Reporting, subscribed, not stopped and not stalled}
                      stalled: {type: [string, "null"], description: "Why the service's queue has not advanced for stall_seconds (retries, PostgreSQL away); null while it moves"}
                      host: {type: string}
                      pid: {type: integer}
                      metrics_url: {type: [string, "null"]}
                      updated_at: {$ref: "#/components/schemas/Time"}
                      received_per_second: {type: number}
                      committed_readings_per_second: {type: number}
                      received_total: {type: integer}
                      committed_readings_total: {type: integer}
                      rejected_total: {type: integer}
                      queue_depth: {type: integer}
                      journal_bytes: {type: integer}
                streams: {type: integer, description: Live streams this query service holds open}
            RejectedPage:
              type: object
              properties:
                rejected:
                  type: array
                  items:
                    type: object
                    properties:
                      id: {type: integer}
                      sensor: {type: [string, "null"]}
                      topic: {type: string}
                      received_at: {$ref: "#/components/schemas/Time"}
                      reason: {type: string}
                      payload: {type: string, contentEncoding: base64}
                next: {type: [string, "null"]}
            OverQuota:
              type: object
              properties:
                over_quota:
                  type: array
                  items:
                    type: object
                    properties:
                      source: {type: string, description: the device id, or the topic when it is outside telemetry/}
                      hour: {$ref: "#/components/schemas/Time"}
                      kept: {type: integer}
                      refused: {type: integer}
            Credential:
              type: object
              properties:
                device: {type: string}
                username: {type: string}
                sensors: {type: [array, "null"], items: {type: string}, description: null for every sensor type}
                created: {$ref: "#/components/schemas/Time"}
                rotated: {$ref: "#/components/schemas/Time"}
            IssuedCredential:
              allOf:
                - $ref: "#/components/schemas/Credential"
                - {type: object, properties: {password: {type: string}}}

        """
}
