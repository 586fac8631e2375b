package snapshot

import "testing"

func TestRouteAndAuthenticate(t *testing.T) {
	a := &Endpoint{ID: "a", Name: "ep", Region: "eastus2", Keys: [2]KeyHash{HashKey("k1"), HashKey("k2")}}
	b := &Endpoint{ID: "b", Name: "ep", Region: "westus", Keys: [2]KeyHash{HashKey("k3")}}
	c := New(7, []*Endpoint{a, b})
	if c.Route("eastus2", "ep") != a || c.Route("westus", "ep") != b || c.Route("eastus", "ep") != nil {
		t.Fatal("route by region and name")
	}
	for key, want := range map[string]*Endpoint{"k1": a, "k2": a, "k3": b, "nope": nil, "": nil} {
		if got := c.Authenticate(key); got != want {
			t.Errorf("Authenticate(%q) = %v, want %v", key, got, want)
		}
	}
	// An empty secondary key slot must not open b with the hash of nothing.
	if c.Authenticate(string([]byte{})) != nil {
		t.Error("empty key authenticated")
	}
	var nilCfg *Config
	if nilCfg.Route("eastus2", "ep") != nil || nilCfg.Authenticate("k1") != nil {
		t.Error("nil config must find nothing")
	}
}

func TestHolder(t *testing.T) {
	var h Holder
	if h.Load() == nil || len(h.Load().Endpoints) != 0 {
		t.Fatal("zero Holder must give an empty config")
	}
	var seen []int64
	h.Subscribe(func(c *Config) { seen = append(seen, c.Version) })
	h.Store(New(1, nil))
	h.Store(New(2, nil))
	if h.Load().Version != 2 || len(seen) != 2 || seen[1] != 2 {
		t.Fatalf("version %d, subscribers saw %v", h.Load().Version, seen)
	}
}
