// Package gosdk drives a running maas server with the official OpenAI Go SDK
// (github.com/openai/openai-go). It is a separate module so that the maas
// binary does not depend on the SDK. e2e/run.sh sets MAAS_E2E_URL (server
// root), MAAS_E2E_KEY (an endpoint key) and MAAS_E2E_ENDPOINT_URI (the
// endpoint's inferenceEndpoint.uri); without them the tests skip.
package gosdk
