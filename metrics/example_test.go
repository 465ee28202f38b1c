package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/sepd/sepd/metrics"
)

// Example shows the listener's life: the daemon creates Metrics after its first
// configuration load, opens the listener (here on a free loopback port) and
// hands over engines as it builds them. Until the first engine runs, /readyz
// says why it is not ready.
func Example() {
	m := metrics.New("v0.1.0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reload := func() error { return nil } // the daemon's one reload path
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", false, m.Handler(reload, nil), nil)
	if err != nil {
		fmt.Println(err) // the daemon logs it and runs without metrics
		return
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %d %s", path, resp.StatusCode, body)
	}
	cancel()
	fmt.Println("stopped:", srv.Wait())
	// Output:
	// /healthz 200 ok
	// /readyz 503 metrics: not ready: no engine running
	// stopped: <nil>
}

// ExampleListen_refused: without metrics.listen in the file, sepd serves only
// this host.
func ExampleListen_refused() {
	_, err := metrics.Listen(context.Background(), "0.0.0.0:9464", false, nil, nil)
	fmt.Println(err)
	// Output:
	// metrics: refusing to listen on "0.0.0.0:9464": not a loopback address; write it as metrics.listen in the configuration file to serve metrics and /-/reload beyond this host
}
