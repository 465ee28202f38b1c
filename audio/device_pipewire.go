package audio

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"time"
)

// onPipeWireJACK reports whether this process runs on PipeWire's libjack
// (under pw-jack, or with PipeWire's libjack installed as the system's), so
// that its JACK host API is PipeWire's graph. It reads /proc/self/maps.
func onPipeWireJACK() bool {
	maps, err := os.ReadFile("/proc/self/maps")
	return err == nil && bytes.Contains(maps, []byte("/pipewire-0.3/jack/libjack"))
}

// pipewireDefaults returns the JACK client names (PipeWire's libjack names a
// node's client after its node.description) of PipeWire's default source and
// sink, as the session manager chose them ("default" metadata: what the
// desktop's sound settings show), read with pw-dump (package pipewire-bin,
// there wherever PipeWire is; 10 ms). ok is false when pw-dump is missing,
// fails or names no default. It allocates.
func pipewireDefaults() (source, sink string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "pw-dump").Output()
	if err != nil {
		return "", "", false
	}
	return parsePWDump(out)
}

// parsePWDump finds the default source and sink in pw-dump's JSON, and
// returns their node descriptions (node.nick, then node.name, when a node
// has none).
func parsePWDump(b []byte) (source, sink string, ok bool) {
	var objs []struct {
		Type  string `json:"type"`
		Props struct {
			Name string `json:"metadata.name"`
		} `json:"props"`
		Metadata []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"metadata"`
		Info struct {
			Props map[string]any `json:"props"`
		} `json:"info"`
	}
	if json.Unmarshal(b, &objs) != nil {
		return "", "", false
	}
	var srcName, sinkName string
	desc := map[string]string{} // node.name -> client name
	for _, o := range objs {
		switch o.Type {
		case "PipeWire:Interface:Metadata":
			if o.Props.Name != "default" {
				continue
			}
			for _, m := range o.Metadata {
				var v struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(m.Value, &v) != nil {
					continue
				}
				switch m.Key {
				case "default.audio.source":
					srcName = v.Name
				case "default.audio.sink":
					sinkName = v.Name
				}
			}
		case "PipeWire:Interface:Node":
			str := func(k string) string { s, _ := o.Info.Props[k].(string); return s }
			name := str("node.name")
			for _, k := range []string{"node.description", "node.nick", "node.name"} {
				if s := str(k); s != "" {
					desc[name] = s
					break
				}
			}
		}
	}
	source, sink = desc[srcName], desc[sinkName]
	return source, sink, source != "" || sink != ""
}
