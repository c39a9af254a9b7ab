// The alerts' part of /openapi.yaml: rules and episodes (docs/alerts.md), joined into `paths` and
// `components.schemas` by `OpenAPIDocument.text`.
extension OpenAPIDocument {
    static let alertPaths = """
          /v1/alert-rules:
            get:
              summary: Every alert rule, oldest first
              operationId: listAlertRules
              parameters:
                - {name: sensor, in: query, schema: {type: string}, description: Only this sensor type's rules}
              responses:
                "200": {description: The rules, content: {application/json: {schema: {type: object, properties: {rules: {type: array, items: {$ref: "#/components/schemas/AlertRule"}}}}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
            post:
              summary: Makes an alert rule (admin tokens only)
              operationId: createAlertRule
              requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/AlertRuleBody"}}}}
              responses:
                "201": {description: The rule, content: {application/json: {schema: {$ref: "#/components/schemas/AlertRule"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/alert-rules/{id}:
            get:
              summary: One alert rule
              operationId: getAlertRule
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
              responses:
                "200": {description: The rule, content: {application/json: {schema: {$ref: "#/components/schemas/AlertRule"}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
            put:
              summary: Replaces an alert rule (admin tokens only)
              description: >-
                The whole rule again; its sensor type cannot change. A change of what it means (condition, field,
                thresholds, for, scope) clears its open episodes with clear_reason "rule changed"; a new name or
                webhook does not.
              operationId: replaceAlertRule
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
              requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/AlertRuleBody"}}}}
              responses:
                "200": {description: The rule, content: {application/json: {schema: {$ref: "#/components/schemas/AlertRule"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
            delete:
              summary: Deletes an alert rule and clears its open episodes (admin tokens only)
              operationId: deleteAlertRule
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
              responses:
                "204": {description: Deleted}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/alerts:
            get:
              summary: Alert episodes, those not cleared first, then newest raised first
              operationId: listAlerts
              parameters:
                - {name: state, in: query, schema: {type: string}, description: "Comma list of open, acknowledged, cleared; or all (the default)"}
                - {name: sensor, in: query, schema: {type: string}}
                - {name: device, in: query, schema: {type: string}}
                - {name: rule, in: query, schema: {type: string, format: uuid}}
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
              responses:
                "200": {description: The episodes, content: {application/json: {schema: {type: object, properties: {alerts: {type: array, items: {$ref: "#/components/schemas/AlertEpisode"}}}}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/alerts/{id}:
            get:
              summary: One alert episode
              operationId: getAlert
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
              responses:
                "200": {description: The episode, content: {application/json: {schema: {$ref: "#/components/schemas/AlertEpisode"}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}
          /v1/alerts/{id}/acknowledge:
            post:
              summary: Acknowledges an episode, once (admin tokens only)
              operationId: acknowledgeAlert
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
              requestBody:
                required: false
                content: {application/json: {schema: {type: object, additionalProperties: false, properties: {by: {type: string, maxLength: 200}}}}}
              responses:
                "200": {description: The episode, content: {application/json: {schema: {$ref: "#/components/schemas/AlertEpisode"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "403": {$ref: "#/components/responses/Forbidden"}
                "404": {$ref: "#/components/responses/NotFound"}
                "503": {$ref: "#/components/responses/Unavailable"}

        """

    static let alertSchemas = """
            AlertRuleBody:
              type: object
              required: [name, sensor, condition]
              additionalProperties: false
              properties:
                name: {type: string, maxLength: 200}
                sensor: {type: string}
                condition: {type: string, enum: [above, below, silent]}
                field: {type: string, description: "above/below: the sensor type's field"}
                threshold: {type: number, description: "above/below: raised beyond it"}
                clear: {type: [number, "null"], description: "above/below: cleared at or beyond it back (hysteresis); default the threshold"}
                for: {type: string, pattern: "^(0s|[1-9][0-9]*[smhd])$", description: "How long the condition must hold; silent: how long without a reading"}
                device: {type: [string, "null"]}
                device_prefix: {type: [string, "null"]}
                webhook: {type: [string, "null"], description: "Whole for an admin token; for a read token only its origin (https://host/…)"}
            AlertRule:
              allOf:
                - $ref: "#/components/schemas/AlertRuleBody"
                - type: object
                  properties:
                    id: {type: string, format: uuid}
                    created_at: {$ref: "#/components/schemas/Time"}
                    updated_at: {$ref: "#/components/schemas/Time"}
            AlertEpisode:
              type: object
              properties:
                id: {type: string, format: uuid, description: "Also the webhook's Idempotency-Key, with the event: <id>:<event>"}
                rule: {type: object, properties: {id: {type: string, format: uuid}, name: {type: string}}}
                sensor: {type: string}
                device: {type: string}
                condition: {type: string, enum: [above, below, silent]}
                state: {type: string, enum: [open, acknowledged, cleared]}
                field: {type: [string, "null"]}
                threshold: {type: [number, "null"]}
                value: {type: [number, "null"], description: The reading that raised it}
                started_at: {$ref: "#/components/schemas/Time"}
                raised_at: {$ref: "#/components/schemas/Time"}
                noticed_at: {$ref: "#/components/schemas/Time"}
                acknowledged_at: {type: [string, "null"], format: date-time}
                acknowledged_by: {type: [string, "null"]}
                cleared_at: {type: [string, "null"], format: date-time}
                clear_value: {type: [number, "null"]}
                clear_reason: {type: [string, "null"], description: "recovered, heard again, rule changed, rule deleted"}
                event: {type: string, enum: [raised, acknowledged, cleared], description: In notifications only}

        """
}
