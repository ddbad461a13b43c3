//! The OpenAPI 3.1 document served at `/v1/openapi.json`.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Camp",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Payment reward campaigns over HTTP: events in, ledger entries out, kept in a durable store. \
                            Events and entries are those of EVENTS.md."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Entry": {
                    "type": "object",
                    "required": ["entry"],
                    "properties": {
                        "entry": {"type": "string", "enum": ["award", "adjust", "reject"]},
                        "event": {"type": "string"}, "account": {"type": "string"}, "campaign": {"type": "string"},
                        "payment": {"type": "string"}, "points": {"type": "integer"}, "unit": {"type": "string"},
                        "grant_on": {"type": "string", "format": "date"}, "source": {"type": "string"},
                        "reason": {"type": "string"}, "line": {"type": "integer"}, "error": {"type": "string"}
                    }
                },
                "Applied": {
                    "type": "object",
                    "required": ["accepted", "duplicates", "rejected", "entries"],
                    "properties": {
                        "accepted": {"type": "integer", "description": "events accepted now"},
                        "duplicates": {"type": "integer", "description": "events accepted before, with the same content"},
                        "rejected": {"type": "integer"},
                        "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}},
                        "error": {"type": "string", "description": "why a single event was rejected (status 400)"}
                    }
                },
                "Campaigns": {
                    "type": "object",
                    "properties": {
                        "version": {"type": "integer"}, "digest": {"type": "string"},
                        "files": {"type": "array", "items": {"type": "string"}},
                        "campaigns": {"type": "array", "items": {"type": "object", "properties": {
                            "id": {"type": "string"}, "title": {"type": "string"}, "unit": {"type": "string"},
                            "source": {"type": "string"}
                        }}}
                    }
                }
            }
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok",
                "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1",
                "content": {"application/json": {}}}}}},
            "/v1/events": {"post": {
                "summary": "Process one event, or a JSON Lines batch",
                "description": "The events commit together with the entries they cause. An event id accepted before is a \
                                duplicate: the same content changes nothing, other content is rejected.",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/x-ndjson": {"schema": {"type": "string"}}
                }},
                "responses": {
                    "200": {"description": "The entries the events caused (bad lines of a batch are reject entries)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Applied"}}}},
                    "400": {"description": "Malformed input, or a single event that was rejected",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Applied"}}}},
                    "401": error_response("No bearer token, or the wrong one"),
                    "413": {"description": "The body is larger than the service takes"},
                    "503": error_response("The store failed: nothing of the request was kept; send it again")
                }
            }},
            "/v1/accounts/{id}/ledger": {"get": {
                "summary": "An account's ledger entries, in the order they were written",
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "campaign", "in": "query", "required": false, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "Entries", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"account": {"type": "string"},
                    "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Entry"}}}}}}}}
            }},
            "/v1/accounts/{id}/state": {"get": {
                "summary": "An account's kept state: attributes, entries, cap usage, counters, payments",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "State", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "404": error_response("No event has named the account")
                }
            }},
            "/v1/campaigns": {"get": {"summary": "The campaigns live and their version",
                "responses": {"200": {"description": "Campaigns",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Campaigns"}}}}}}},
            "/v1/campaigns/reload": {"post": {
                "summary": "Load the campaign directory again, keeping every account's state",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "The new version is live",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Campaigns"}}}},
                    "401": error_response("No bearer token, or the wrong one"),
                    "422": {"description": "The campaigns do not check: their diagnostics; the version live stays live",
                        "content": {"application/json": {"schema": {"type": "object"}}}}
                }
            }}
        }
    })
}
