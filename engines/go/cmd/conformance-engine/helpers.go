package main

import "keystone.dev/engine/keystone"

// helpers: Hash, Random, Now and the JSON helpers, picked by X-Case; answers JSON.
func helpers(req *keystone.Request) keystone.Decision {
	var out any = []any{}
	switch req.Header("X-Case") {
	case "hash":
		hashes := []int{}
		for _, s := range req.HeaderValues("X-Hash-Input") {
			hashes = append(hashes, keystone.Hash(s))
		}
		out = hashes
	case "random":
		units, dice, ranges := []float64{}, []int{}, []int{}
		for i := 0; i < 50; i++ {
			units = append(units, keystone.Random())
			dice = append(dice, keystone.RandomInt(6))
			ranges = append(ranges, keystone.RandomRange(5, 7))
		}
		out = map[string]any{"units": units, "dice": dice, "ranges": ranges}
	case "now":
		out = map[string]any{"now": keystone.Now()}
	case "json":
		var d struct {
			List   []float64 `json:"list"`
			Name   string    `json:"name"`
			Flag   bool      `json:"flag"`
			Nested struct {
				K string `json:"k"`
			} `json:"nested"`
		}
		keystone.DecodeJSON(`{"list":[1,2,3],"name":"x","flag":true,"nested":{"k":"v"}}`, &d)
		out = map[string]any{
			"n": len(d.List), "sum": d.List[0] + d.List[1] + d.List[2], "name": d.Name, "flag": d.Flag, "k": d.Nested.K,
			"text": keystone.EncodeJSON(map[string]string{"a": "b"}),
		}
	}
	return keystone.Respond(200, keystone.EncodeJSON(out), nil)
}
