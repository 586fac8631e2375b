package v1

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestEndpointWireShape pins the ARM field names of a serverless endpoint.
func TestEndpointWireShape(t *testing.T) {
	ep := ServerlessEndpoint{
		Name: "e", Location: "eastus2", SKU: &SKU{Name: "Consumption"},
		Properties: ServerlessEndpointProperties{
			ModelSettings:     &ModelSettings{ModelID: "azureml://registries/azureml/models/Phi-3-mini-4k-instruct"},
			AuthMode:          "Key",
			ContentSafety:     &ContentSafety{ContentSafetyStatus: "Enabled"},
			InferenceEndpoint: &InferenceEndpoint{URI: "http://x/serverless/eastus2/e"},
			ProvisioningState: ProvisioningSucceeded, EndpointState: EndpointStateOnline,
		},
	}
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"e","location":"eastus2","sku":{"name":"Consumption"},"properties":{"modelSettings":{"modelId":"azureml://registries/azureml/models/Phi-3-mini-4k-instruct"},"authMode":"Key","contentSafety":{"contentSafetyStatus":"Enabled"},"inferenceEndpoint":{"uri":"http://x/serverless/eastus2/e"},"provisioningState":"Succeeded","endpointState":"Online"}}`
	if string(b) != want {
		t.Fatalf("wire shape\n got %s\nwant %s", b, want)
	}
	var back ServerlessEndpoint
	dec := json.NewDecoder(strings.NewReader(want))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil || back.Properties.ModelSettings.ModelID != ep.Properties.ModelSettings.ModelID {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestErrorAndKeysShape(t *testing.T) {
	b, _ := json.Marshal(ErrorResponse{Error: ErrorBody{Code: "UserError", Message: "m"}})
	if string(b) != `{"error":{"code":"UserError","message":"m"}}` {
		t.Fatalf("error shape %s", b)
	}
	b, _ = json.Marshal(EndpointKeys{PrimaryKey: "a", SecondaryKey: "b"})
	if string(b) != `{"primaryKey":"a","secondaryKey":"b"}` {
		t.Fatalf("keys shape %s", b)
	}
}
